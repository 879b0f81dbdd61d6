"""Code that runs in the grading process (the host side): starting sandboxes and talking to them."""
