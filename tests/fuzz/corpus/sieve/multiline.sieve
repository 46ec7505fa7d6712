require "vacation";
vacation :days 2K :subject "a\"b" text: # c
line
..x
.
;
/* c */