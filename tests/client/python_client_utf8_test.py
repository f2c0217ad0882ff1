"""nas_client refuses a spec that is not valid UTF-8 before sending it
(issue 22): the controller could only answer with protobuf's parse error.

Run: PYTHONPATH=<build>/python:client/python python3 this_file.py
"""
import unittest

from nas_client import Client, check_utf8


class CheckUtf8Test(unittest.TestCase):
    def test_valid_text_passes(self):
        self.assertEqual(check_utf8("spec_yaml", "name: caf\u00e9"),
                         "name: caf\u00e9")
        self.assertEqual(check_utf8("spec_yaml", "name: x".encode()),
                         "name: x")

    def test_invalid_bytes_name_the_field_and_line(self):
        with self.assertRaisesRegex(
                ValueError, r"spec_yaml: line 2: invalid UTF-8 \(byte 0xE9"):
            check_utf8("spec_yaml", b"name: a\nx: caf\xe9\n")

    def test_lone_surrogates_name_the_field_and_line(self):
        text = b"a: 1\nb: \xff\n".decode("utf-8", "surrogateescape")
        with self.assertRaisesRegex(ValueError,
                                    r"spec_yaml: line 2: invalid UTF-8"):
            check_utf8("spec_yaml", text)

    def test_submit_refuses_before_sending(self):
        client = Client("127.0.0.1:1")  # nothing listens: nothing is sent
        try:
            with self.assertRaisesRegex(ValueError, "spec_yaml: line 1"):
                client.submit(b"name: \xff\n")
        finally:
            client.close()


if __name__ == "__main__":
    unittest.main()
