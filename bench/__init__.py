"""The benchmark: a synthetic site, the app and two floor endpoints under load (`make bench`)."""
