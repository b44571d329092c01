"""Pure image pipeline: decode stored frames, window, encode. No I/O."""
