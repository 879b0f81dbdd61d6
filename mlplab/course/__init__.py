"""The course: where it lives and its tasks, generating the release, the gradebook writer, the late
penalty and the class report."""
