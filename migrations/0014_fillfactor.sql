-- Room on each page for updated row versions (HOT updates, issue 9): the
-- lease's update of a candidate (state RUNNING, attempts, updated_at)
-- changes no indexed column, so with free space on the page it adds no
-- index entries and leaves no dead ones to skip. Pages written from now
-- on keep 15 % free.
ALTER TABLE candidates SET (fillfactor = 85);
