"""Keeps the fuzzer's savepoints inside the test's directory.

A savepoint request may name any directory the job can write (a path or a file:// URI), and the test runs as whoever
runs it (root in CI): an absolute or home-relative target is left out, so every savepoint the
fuzzer triggers lands under the job's working directory. Relative targets, '..' and every
other body are still sent.
"""
import schemathesis

TARGET_FIELDS = ("target-directory", "targetDirectory")


@schemathesis.hook
def filter_body(ctx, body):
    if not isinstance(body, dict):
        return True
    for field in TARGET_FIELDS:
        value = body.get(field)
        if isinstance(value, str) and value.lstrip().lower().startswith(("/", "~", "file:")):
            return False
    return True
