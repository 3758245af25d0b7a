"""Every read: each function takes the session and returns rows, objects or a `Select`; none
writes. Views, presenters, reports and the CLI read through here, so no SQL lives in them."""
