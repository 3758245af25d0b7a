-- An empty form POST for wrk (the floor's /insert: no login, no CSRF).
wrk.method = "POST"
wrk.body = ""
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
