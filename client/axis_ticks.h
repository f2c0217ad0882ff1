// Axis ticks for nasctl's SVG plots: Heckbert's "nice numbers" (Graphics
// Gems, 1990): ticks at multiples of a step in {1, 2, 5} x 10^k, axis
// limits snapped to the outermost ticks, labels with exactly the decimals
// the step needs. Pure functions, thread-safe.
#ifndef NAS_CLIENT_AXIS_TICKS_H_
#define NAS_CLIENT_AXIS_TICKS_H_

#include <string>
#include <vector>

namespace nas {

struct AxisOptions {
  // Ticks at whole numbers only (trials, epochs). Default false.
  bool integer = false;
  // The quantity cannot be negative (seconds, trials, MACs): no tick below
  // 0 unless the data itself is. Default false.
  bool non_negative = false;
  // log10 scale with ticks at powers of ten (and at 2 and 5 times them
  // when the data spans fewer than two decades). Values that are not > 0
  // must be left out by the caller. Default false.
  bool log = false;
};

struct Axis {
  // Limits and tick positions, on the log10 scale when options.log; lo and
  // hi are the first and last tick.
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  std::vector<std::string> labels;  // one per tick
  // The linear step (not set on a log axis).
  double step = 0;
};

// The axis for data spanning [data_min, data_max] (either order; equal
// values and non-finite ones are handled: a single value gets an axis
// around it, no data at all [0, 1]). A linear axis has 4 to 10 ticks that
// cover the data; labels are plain decimals ("0.55", "-0.3", "12"), with
// a k/M/G suffix from 10^4 up ("200k", "2.5M") and a mantissa and
// exponent below 10^-4 or from 10^12 ("1.5e-7"). A log axis labels its
// powers of ten 0.001 ... 10000, else 1e<k>.
Axis NiceAxis(double data_min, double data_max, const AxisOptions& options);

}  // namespace nas

#endif  // NAS_CLIENT_AXIS_TICKS_H_
