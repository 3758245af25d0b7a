"""A small HTTP load client (standard library, and pyotp for login codes) for 127.0.0.1.

Used for the one-at-a-time latency runs, for logging in and for the CSV export, and for the
throughput runs when `wrk` is not installed. Keep-alive connections; cookies are kept by hand,
because the app in production sets a `Secure` `__Host-` cookie that a browser would send only
over HTTPS: here it goes back over plain HTTP to 127.0.0.1. Logins take both steps, as a user
does: the password, then the code the user's authenticator app would show (pyotp).
"""

import http.client
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import pyotp

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')

# Pages whose forms carry the logged-in session's CSRF token (the first that answers is used).
TOKEN_PAGES = ("/account/password", "/patients", "/")

# What one request is: method, path and form fields (None for no body).
Request = tuple[str, str, dict[str, str] | None]

CODE_PAGE = "/login/code"
STEP_SECONDS = 30  # a TOTP code's time step
# The last time step whose code each username used: the server accepts a step's code once.
_used_steps: dict[str, int] = {}


class ClientError(RuntimeError):
    """The server answered something the benchmark cannot go on with (e.g. a refused login)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


class Connection:
    """One keep-alive connection with its own cookie jar."""

    def __init__(self, host: str, port: int, cookies: dict[str, str] | None = None, timeout: float = 60):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the benchmark only loads this machine (127.0.0.1)")
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = dict(cookies or {})
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {"Host": f"{self.host}:{self.port}", "User-Agent": "periop-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers

    def _send(self, method: str, path: str, body: bytes | None):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self._conn.request(method, path, body=body, headers=self._headers(body))
        return self._conn.getresponse()

    def open(self, method: str, path: str, form: dict[str, str] | None = None):
        """Send a request and return the raw response (its body unread), keeping its cookies."""
        body = urlencode(form).encode() if form is not None else None
        try:
            response = self._send(method, path, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()  # the server closed an idle keep-alive connection: once more, fresh
            response = self._send(method, path, body)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                jar = SimpleCookie()
                jar.load(value)
                for name, morsel in jar.items():
                    self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self._conn = None  # after this response; the socket closes with it
        return response

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        started = time.perf_counter()
        response = self.open(method, path, form)
        body = response.read()
        return Response(response.status, dict(response.getheaders()), body, time.perf_counter() - started)


def csrf_token(html: bytes) -> str:
    match = _CSRF.search(html.decode("utf-8", "replace"))
    if not match:
        raise ClientError("no csrf_token in the page")
    return match.group(1) or match.group(2)


def totp_code(
    username: str,
    secret: str,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """The code the user's app shows now; if this step's code was used already, wait for the next."""
    step = int(now()) // STEP_SECONDS
    last = _used_steps.get(username)
    if last is not None and step <= last:
        step = last + 1
        sleep(max(0.0, step * STEP_SECONDS - now()) + 0.2)
    _used_steps[username] = step
    return pyotp.TOTP(secret, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def login(
    host: str, port: int, username: str, password: str, totp_secret: str | None = None
) -> tuple[Connection, str]:
    """Log in through the form, and the code step when asked (with the user's TOTP secret);
    return the connection (with its session cookie) and a CSRF token."""
    conn = Connection(host, port)
    page = conn.request("GET", "/login")
    token = csrf_token(page.body)
    answer = conn.request("POST", "/login", {"username": username, "password": password, "csrf_token": token})
    if answer.status != 302:
        raise ClientError(f"login as {username} answered {answer.status}, not 302")
    if urlsplit(answer.headers.get("Location", "")).path == CODE_PAGE:
        if totp_secret is None:
            raise ClientError(f"login as {username} asks for a code, and no TOTP secret was given")
        page = conn.request("GET", CODE_PAGE)
        code = totp_code(username, totp_secret)
        answer = conn.request("POST", CODE_PAGE, {"code": code, "csrf_token": csrf_token(page.body)})
        if answer.status != 302 or urlsplit(answer.headers.get("Location", "")).path == "/login":
            raise ClientError(f"the code step of {username} answered {answer.status}, not a way in")
    # The session changed at login: take the token of the new session from a page.
    statuses = []
    for path in TOKEN_PAGES:
        page = conn.request("GET", path)
        statuses.append(f"{path} {page.status}")
        if page.status == 200:
            with suppress(ClientError):
                return conn, csrf_token(page.body)
    raise ClientError(f"logged in as {username}, but no page gave a CSRF token ({', '.join(statuses)})")


@dataclass
class Result:
    """Latencies (seconds) and statuses of a run; errors are answers outside 2xx/3xx or failures."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    seconds: float = 0.0
    exhausted: bool = False
    capped: bool = False  # stopped by its time limit before its count

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float | None:
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(p) - 1]

    @property
    def median(self) -> float | None:
        return statistics.median(self.latencies) if self.latencies else None

    def merge(self, other: "Result") -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.errors += other.errors


def ok_status(status: int) -> bool:
    return 200 <= status < 400


def _one(conn: Connection, request: Request, result: Result) -> None:
    method, path, form = request
    started = time.perf_counter()
    try:
        response = conn.open(method, path, form)
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        conn.close()
        status = 0
    result.latencies.append(time.perf_counter() - started)
    result.statuses[status] += 1
    if not ok_status(status):
        result.errors += 1


def sequential(
    conn: Connection,
    requests: Iterator[Request],
    count: int,
    warmup: int = 0,
    max_seconds: float | None = None,
) -> Result:
    """One client, one request at a time: `warmup` requests unmeasured, then `count` measured.

    With `max_seconds`, the measured requests stop once that much time has passed (and the
    warm-up after a fifth of it), so a slow page bounds the run's time, not its count.
    """
    scratch = Result()
    deadline = time.perf_counter() + (max_seconds / 5 if max_seconds else float("inf"))
    for _ in range(warmup):
        request = next(requests, None)
        if request is None or time.perf_counter() > deadline:
            break
        _one(conn, request, scratch)
    result = Result()
    started = time.perf_counter()
    deadline = started + (max_seconds if max_seconds else float("inf"))
    for _ in range(count):
        request = next(requests, None)
        if request is None:
            result.exhausted = True
            break
        if time.perf_counter() > deadline:
            result.capped = True
            break
        _one(conn, request, result)
    result.seconds = time.perf_counter() - started
    return result


def concurrent(
    connections: list[Connection],
    requests: Callable[[], Request | None],
    duration: float,
    max_requests: int | None = None,
) -> Result:
    """One thread per connection, each sending requests back to back for `duration` seconds.

    `requests()` gives the next request (called under a lock), or None when there are no more.
    """
    lock = threading.Lock()
    results = [Result() for _ in connections]
    sent = 0
    deadline = time.perf_counter() + duration
    exhausted = threading.Event()

    def work(conn: Connection, result: Result) -> None:
        nonlocal sent
        while time.perf_counter() < deadline:
            with lock:
                request = None if max_requests is not None and sent >= max_requests else requests()
                sent += request is not None
            if request is None:
                exhausted.set()
                return
            _one(conn, request, result)

    threads = [
        threading.Thread(target=work, args=(c, r), daemon=True)
        for c, r in zip(connections, results, strict=True)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    total = Result(seconds=time.perf_counter() - started, exhausted=exhausted.is_set())
    for r in results:
        total.merge(r)
    return total


def repeat(request: Request) -> Iterator[Request]:
    while True:
        yield request
