"""Education: learning results from the learning platform, deadlines, the certificates they
issue."""
