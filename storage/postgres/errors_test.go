package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/oauthkit/oauthkit"
)

func TestWrapErr(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"} }
	cases := []struct {
		name string
		err  error
		want error // the sentinel wrapped, or nil for an internal fault
	}{
		{"UniqueViolation", pg("23505"), oauthkit.ErrExists},
		{"UniqueViolationWrapped", fmt.Errorf("batch: %w", pg("23505")), oauthkit.ErrExists},
		{"ConnectionFailure", pg("08006"), oauthkit.ErrUnavailable},
		{"AdminShutdown", pg("57P01"), oauthkit.ErrUnavailable},
		{"CannotConnectNow", pg("57P03"), oauthkit.ErrUnavailable},
		{"QueryCanceled", pg("57014"), oauthkit.ErrUnavailable},
		{"LockNotAvailable", pg("55P03"), oauthkit.ErrUnavailable},
		{"SerializationFailure", pg("40001"), oauthkit.ErrUnavailable},
		{"Deadlock", pg("40P01"), oauthkit.ErrUnavailable},
		{"TooManyConnections", pg("53300"), oauthkit.ErrUnavailable},
		{"ReadOnlyStandby", pg("25006"), oauthkit.ErrUnavailable},
		{"DeadlinePassed", &pgconn.PgError{Code: "22023", Message: `invalid value for parameter "lock_timeout": "` + deadlinePassed + `"`}, oauthkit.ErrUnavailable},
		{"InvalidParameterValue", pg("22023"), nil},
		{"UndefinedTable", pg("42P01"), nil},
		{"InvalidPassword", pg("28P01"), nil},
		{"CheckViolation", pg("23514"), nil},
		{"DeadlineExceeded", context.DeadlineExceeded, oauthkit.ErrUnavailable},
		{"Canceled", fmt.Errorf("query: %w", context.Canceled), oauthkit.ErrUnavailable},
		{"EOF", io.EOF, oauthkit.ErrUnavailable},
		{"UnexpectedEOF", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), oauthkit.ErrUnavailable},
		{"ConnClosed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), oauthkit.ErrUnavailable},
		{"ConnectionRefused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, oauthkit.ErrUnavailable},
		{"ClosedNetConn", net.ErrClosed, oauthkit.ErrUnavailable},
		{"Other", errors.New("cannot scan"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := wrapErr("op", tc.err)
			if !errors.Is(err, tc.err) {
				t.Errorf("wrapped error %v does not wrap its cause", err)
			}
			for _, s := range []error{oauthkit.ErrExists, oauthkit.ErrUnavailable, oauthkit.ErrNotFound, oauthkit.ErrReused} {
				if got, want := errors.Is(err, s), s == tc.want; got != want {
					t.Errorf("errors.Is(wrapErr(%v), %v) = %v, want %v", tc.err, s, got, want)
				}
			}
			if !strings.HasPrefix(err.Error(), "postgres: op: ") || !strings.Contains(err.Error(), tc.err.Error()) {
				t.Errorf("message %q, want the operation and the cause", err)
			}
		})
	}
	if err := wrapErr("op", nil); err != nil {
		t.Errorf("wrapErr(nil) = %v, want nil", err)
	}
}
