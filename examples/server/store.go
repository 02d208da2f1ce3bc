package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/postgres"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// storeMemory is the -store value for the in-memory stores, the default.
const storeMemory = "memory"

// stores are where the server keeps clients, codes and tokens: one memory
// store or one PostgreSQL store that is all three. Being one value, it also
// redeems a code and stores its tokens in one step (oauthkit.CodeRedeemer).
type stores struct {
	// desc says which store is used, for the banner and the log: never a
	// password.
	desc    string
	clients oauthkit.ClientStore
	codes   oauthkit.CodeStore
	tokens  oauthkit.TokenStore
	// replay remembers the jti of each RFC 7523 assertion (private_key_jwt,
	// client_secret_jwt, the JWT bearer grant) until it expires, so that an
	// assertion is accepted once (RFC 7523 §3).
	replay oauthkit.ReplayCache
	// pushed keeps pushed authorization requests (RFC 9126) until they are
	// used, once, or expire.
	pushed oauthkit.PushedRequestStore
	// devices keeps device authorizations (RFC 8628).
	devices oauthkit.DeviceStore
	// putClient adds a client from the config, or replaces the stored
	// client with its ID.
	putClient func(ctx context.Context, c *oauthkit.Client) error
	// deleteExpired removes the codes and tokens expired at now. The
	// memory store also forgets them as it goes, every so many inserts; a
	// sweep bounds how long they stay when few come.
	deleteExpired func(ctx context.Context, now time.Time) error
	// close releases the stores.
	close func()
	// shared is the one store behind all the others, of which each tenant
	// gets a view (scope).
	shared tenant.Store
}

// scope returns the stores of tenant id: views of the shared store in which
// every key is the tenant's (storage/tenant), so that nothing one tenant
// keeps is found through another's. Expired records are swept by the
// shared store's sweep; closing is the shared store's.
func (st *stores) scope(id string) (*stores, error) {
	view, err := tenant.Scope(st.shared, id)
	if err != nil {
		return nil, err
	}
	return &stores{
		desc:    st.desc + ", tenant " + id,
		clients: view, codes: view, tokens: view, replay: view, pushed: view, devices: view,
		putClient: func(ctx context.Context, c *oauthkit.Client) error {
			err := view.UpdateClient(ctx, c)
			if errors.Is(err, oauthkit.ErrNotFound) {
				return view.CreateClient(ctx, c)
			}
			return err
		},
		deleteExpired: func(context.Context, time.Time) error { return nil },
		close:         func() {},
		shared:        st.shared,
	}, nil
}

// memoryStores returns a new, empty in-memory store.
func memoryStores() *stores {
	store := memory.NewStore()
	return &stores{
		desc:    "memory (everything is lost when the server stops)",
		clients: store,
		codes:   store,
		tokens:  store,
		replay:  store,
		pushed:  store,
		devices: store,
		putClient: func(_ context.Context, c *oauthkit.Client) error {
			store.Put(c)
			return nil
		},
		deleteExpired: store.DeleteExpired,
		close:         func() {},
		shared:        store,
	}
}

// openTimeout bounds connecting to the database and migrating it at start.
const openTimeout = 30 * time.Second

// openStores opens the stores that the -store flag names: "memory", or a
// PostgreSQL URL (postgres:// or postgresql://), whose schema it migrates.
func openStores(ctx context.Context, spec string) (*stores, error) {
	if spec == storeMemory {
		return memoryStores(), nil
	}
	u, err := url.Parse(spec)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf(`-store: want "memory" or a PostgreSQL URL such as postgres://user@127.0.0.1:5432/db?sslmode=disable, got %q`, redact(spec))
	}
	where := u.Redacted()
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	store, err := postgres.Open(ctx, spec)
	if err != nil {
		return nil, openError(where, err)
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("-store: migrating %s: %w", where, err)
	}
	return &stores{
		desc:          "PostgreSQL at " + where,
		devices:       store,
		clients:       store,
		codes:         store,
		tokens:        store,
		replay:        store,
		pushed:        store,
		putClient:     store.PutClient,
		deleteExpired: store.DeleteExpired,
		close:         store.Close,
		shared:        store,
	}, nil
}

// openError explains why the PostgreSQL database at where (a URL without
// its password) could not be opened, in one message rather than the stack of
// the driver's and the store's prefixes, with what to check. The driver's
// error stays reachable with errors.Unwrap.
func openError(where string, err error) error {
	var (
		opErr  *net.OpError
		dnsErr *net.DNSError
		// A pgconn.PgError: the database server answered with an
		// error (a wrong password, a database that does not exist).
		serverErr interface {
			error
			SQLState() string
		}
	)
	var reason, advice string
	switch {
	case errors.As(err, &serverErr):
		reason = "the database server refused: " + serverErr.Error()
		advice = "check the user, password and database name in the -store URL"
	case errors.As(err, &dnsErr):
		reason = fmt.Sprintf("the host %q is not known", dnsErr.Name)
		advice = "check the host name in the -store URL"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		addr := ""
		if opErr.Addr != nil {
			addr = " at " + opErr.Addr.String()
		}
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			reason = "connection refused: nothing listens" + addr
		case opErr.Timeout():
			reason = "no answer" + addr + " (timed out)"
		default:
			reason = opErr.Err.Error()
		}
		advice = "check that the PostgreSQL server is running and accepts TCP connections there, and that the host and port of the -store URL are right"
	case errors.Is(err, context.DeadlineExceeded):
		reason = fmt.Sprintf("no answer within %v", openTimeout)
		advice = "check that the PostgreSQL server is running and reachable, and the -store URL"
	default:
		return fmt.Errorf("-store: cannot open the PostgreSQL database %s: %w", where, err)
	}
	return &openErr{msg: fmt.Sprintf("-store: cannot connect to PostgreSQL at %s: %s; %s", where, reason, advice), err: err}
}

// openErr is openError's error: its own message, the driver's error
// underneath.
type openErr struct {
	msg string
	err error
}

func (e *openErr) Error() string { return e.msg }
func (e *openErr) Unwrap() error { return e.err }

// redact returns spec for an error message, cut before anything that may be
// a password when it is not a URL the server understands.
func redact(spec string) string {
	if i := strings.IndexAny(spec, "@ "); i >= 0 || strings.Contains(spec, "password") {
		return "(not shown: it may hold a password)"
	}
	return spec
}

// sweepInterval is how often expired codes and tokens are deleted.
const sweepInterval = 5 * time.Minute

// sweep calls deleteExpired every interval, with the time of the tick as
// now, until ctx is done, logging its failures (a database that is down for
// a while is not fatal: the next sweep catches up).
func sweep(ctx context.Context, interval time.Duration, deleteExpired func(context.Context, time.Time) error, logger *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if err := deleteExpired(ctx, now); err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, "deleting expired codes and tokens", "error", err)
			}
		}
	}
}
