package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/oauthkit/oauthkit"
)

// storeError wraps a driver error with the operation that failed and, when
// the error has a meaning in the store contract, the oauthkit sentinel
// (ErrExists, ErrUnavailable). The driver error stays reachable with
// errors.As for the host's logs; oauthkit never sends causes to clients.
type storeError struct {
	op       string
	sentinel error // nil for an internal fault
	err      error
}

func (e *storeError) Error() string {
	if e.sentinel == nil {
		return "postgres: " + e.op + ": " + e.err.Error()
	}
	return "postgres: " + e.op + ": " + e.sentinel.Error() + ": " + e.err.Error()
}

func (e *storeError) Unwrap() []error {
	if e.sentinel == nil {
		return []error{e.err}
	}
	return []error{e.sentinel, e.err}
}

// wrapErr maps a driver error to the store contract: a unique violation
// wraps oauthkit.ErrExists; a lost or refused connection, a timeout, a
// cancelled context or a transient server condition wraps
// oauthkit.ErrUnavailable; anything else is an internal fault.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &storeError{op: op, sentinel: classify(err), err: err}
}

// classify returns the store sentinel that err means, or nil.
func classify(err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch code := pgErr.Code; {
		case code == "23505": // unique_violation
			return oauthkit.ErrExists
		case code == "22023" && strings.Contains(pgErr.Message, deadlinePassed): // checkDeadline
			return oauthkit.ErrUnavailable
		case strings.HasPrefix(code, "08"), // connection_exception
			code == "57P01", // admin_shutdown
			code == "57P02", // crash_shutdown
			code == "57P03", // cannot_connect_now (starting up, in recovery)
			code == "57P05", // idle_session_timeout
			code == "57014", // query_canceled (statement_timeout, cancel request)
			code == "55P03", // lock_not_available (lock_timeout)
			code == "40001", // serialization_failure
			code == "40P01", // deadlock_detected
			code == "53300", // too_many_connections
			code == "53000", // insufficient_resources
			code == "25P03", // idle_in_transaction_session_timeout
			code == "25006": // read_only_sql_transaction (a standby after failover)
			return oauthkit.ErrUnavailable
		}
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return oauthkit.ErrUnavailable
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return oauthkit.ErrUnavailable
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return oauthkit.ErrUnavailable
	}
	return nil
}

// storable reports whether s can be a PostgreSQL text value: valid UTF-8
// with no NUL byte. A lookup key that is not storable cannot be stored, so
// it is not found, without asking the database (which would answer with an
// encoding error).
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func notFound(what string) error { return fmt.Errorf("postgres: %s: %w", what, oauthkit.ErrNotFound) }
