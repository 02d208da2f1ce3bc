// Package storetest checks implementations of oauthkit's store interfaces
// against the contracts written on them, as [testing/fstest.TestFS] does for
// file systems. A store's own tests call it:
//
//	func TestTokens(t *testing.T) {
//		storetest.TestTokenStore(t, func(t *testing.T) oauthkit.TokenStore {
//			return mystore.NewTokens(openTestDB(t))
//		})
//	}
//
// [TestClientStore], [TestClientRegistry], [TestCodeStore], [TestTokenStore],
// [TestCodeRedeemer], [TestSubjectRevoker], [TestReplayCache],
// [TestDeviceStore], [TestPushedRequestStore] and [TestTenantIsolation]
// (two tenants' stores over one backing store) each run one subtest per
// rule of the contract, such as TestTokenStore/Reuse/AfterGrace or
// TestReplayCache/ConcurrentExpired, so that a failure names the rule
// broken. Each subtest calls newStore for a
// store of its own. Subtests run one after another, never in parallel.
// Cases within one subtest reuse IDs, so a store whose instances share tables
// must start each one empty (the PostgreSQL store's tests use a schema per
// store; TRUNCATE works too).
//
// # What the kit assumes of a store
//
//   - Times handed to the store are whole microseconds and are compared with
//     [time.Time.Equal]: a store may keep microsecond precision (as PostgreSQL
//     does) and return times in any location. A zero time must come back zero.
//   - String slices are compared by content, in order; nil and empty are
//     equal, so a store need not tell them apart.
//   - An item is expired at now when now is not before its ExpiresAt, as in
//     [oauthkit.Token.Active]: a lookup at exactly ExpiresAt fails, and a
//     replay key remembered until expiresAt is new again at expiresAt.
//   - A replay key is any string, compared byte for byte: the kit's keys
//     include invalid UTF-8 and NUL bytes, which a store that cannot keep
//     them as they are must encode (hash them, say) rather than refuse,
//     since every error of Remember is an internal fault.
//   - The now passed to the store is near the wall clock, and no item expires
//     by the wall clock while the kit runs, so a store may also drop items
//     that expired by its own clock.
//   - A device authorization's Interval is whole seconds, as RFC 8628 has
//     it. An expired device authorization may be forgotten (polls of it are
//     then ErrNotFound) no sooner than a minute after it expires.
//   - Tokens created with CreateTokens have no ParentID and a zero RotatedAt;
//     only tokens stored by RotateRefreshToken have a parent, which exists
//     when they are stored.
//
// The concurrency checks start 100 goroutines at once against one store (50
// for device authorizations); run them under the race detector
// (go test -race).
//
// The package imports only the standard library and oauthkit, so it brings
// no test framework into a store's dependencies.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/oauthkit/oauthkit"
)

// goroutines is how many goroutines the concurrency checks start at once.
const goroutines = 100

// env is what one subtest needs: its t and ctx, a clock reading and a tag
// that makes its IDs its own.
type env struct {
	t   *testing.T
	ctx context.Context
	// now is the wall clock in whole microseconds, the base of every time
	// the subtest hands to a store.
	now time.Time
	tag string
	// names maps the IDs made by id back to their names, for messages.
	names sync.Map
}

func newEnv(t *testing.T) *env {
	return &env{
		t:   t,
		ctx: t.Context(),
		now: time.Now().UTC().Truncate(time.Microsecond),
		tag: rand.Text(),
	}
}

// id returns an ID shaped like the store IDs the library makes (a
// base64url SHA-256), unique to the subtest and name.
func (e *env) id(name string) string {
	id := oauthkit.HashToken(e.tag + "/" + name)
	e.names.Store(id, name)
	return id
}

// name returns the name of an ID made by id, without its "kind/" prefix,
// or else the ID quoted.
func (e *env) name(id string) string {
	if name, ok := e.names.Load(id); ok {
		n := name.(string)
		return n[strings.IndexByte(n, '/')+1:]
	}
	return format(id)
}

// race runs f(0) … f(n-1) in n goroutines released at once and returns
// their errors by index.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts errors by the sentinel they wrap; errors wrapping none are
// counted under "other", nil under "nil".
func tally(errs []error) map[string]int {
	n := make(map[string]int)
	for _, err := range errs {
		n[errName(err)]++
	}
	return n
}

func errName(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, oauthkit.ErrNotFound):
		return "ErrNotFound"
	case errors.Is(err, oauthkit.ErrReused):
		return "ErrReused"
	case errors.Is(err, oauthkit.ErrExists):
		return "ErrExists"
	case errors.Is(err, oauthkit.ErrUnavailable):
		return "ErrUnavailable"
	default:
		return "other"
	}
}

// firstOther returns the first error in errs that wraps none of the
// sentinels wanted, for a failure message.
func firstOther(errs []error, wanted ...error) error {
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !slices.ContainsFunc(wanted, func(w error) bool { return errors.Is(err, w) }) {
			return err
		}
	}
	return nil
}

// sentinel names a store sentinel for messages.
func sentinel(target error) string {
	switch target {
	case oauthkit.ErrNotFound:
		return "oauthkit.ErrNotFound"
	case oauthkit.ErrReused:
		return "oauthkit.ErrReused"
	case oauthkit.ErrExists:
		return "oauthkit.ErrExists"
	default:
		return target.Error()
	}
}

// wantErr reports, as a test error, an err that does not wrap target.
func wantErr(t *testing.T, call string, err, target error) bool {
	t.Helper()
	if errors.Is(err, target) {
		return true
	}
	t.Errorf("%s: error = %v, want an error wrapping %s", call, err, sentinel(target))
	return false
}

// wantOK reports a non-nil err as a test error.
func wantOK(t *testing.T, call string, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("%s: unexpected error: %v", call, err)
		return false
	}
	return true
}

// must stops the subtest if a setup step fails.
func must(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s (setup): %v", call, err)
	}
}

// wantEqual reports, field by field, how got differs from want; both are
// pointers to structs of one type.
func wantEqual(t *testing.T, call string, got, want any) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s returned a different value:\n\t%s", call, strings.Join(d, "\n\t"))
	}
}

// diff lists the exported fields in which got differs from want, two
// pointers to structs of one type. Times are compared with time.Time.Equal
// and string slices by content, nil equal to empty.
func diff(got, want any) []string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.IsNil() {
		return []string{"got nil"}
	}
	gv, wv = gv.Elem(), wv.Elem()
	var d []string
	for i := range wv.NumField() {
		f := wv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !equal(g, w) {
			d = append(d, fmt.Sprintf("%s = %s, want %s", f.Name, format(g), format(w)))
		}
	}
	return d
}

func equal(got, want any) bool {
	switch w := want.(type) {
	case *oauthkit.ClientRegistration:
		g := got.(*oauthkit.ClientRegistration)
		if g == nil || w == nil {
			return g == nil && w == nil
		}
		return len(diff(g, w)) == 0
	case time.Time:
		return got.(time.Time).Equal(w)
	case []string:
		return slices.Equal(got.([]string), w)
	default:
		return reflect.DeepEqual(got, want)
	}
}

func format(v any) string {
	switch v := v.(type) {
	case time.Time:
		if v.IsZero() {
			return "zero time"
		}
		return v.Format(time.RFC3339Nano)
	case string:
		return strconv.Quote(v)
	case []string:
		return fmt.Sprintf("%q", v)
	default:
		return fmt.Sprint(v)
	}
}

// offset names a time relative to a named one, such as "ExpiresAt+1s".
func offset(base string, d time.Duration) string {
	switch {
	case d == 0:
		return base
	case d > 0:
		return base + "+" + d.String()
	default:
		return base + d.String()
	}
}

// swapCase returns s with the case of every letter changed: the same ID to
// a store that ignores case, a different one to a correct store.
func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}

// lookalikes are IDs that a correct store must not confuse with id: the
// cases a store built on case-insensitive, padded or pattern comparisons
// gets wrong.
func lookalikes(id string) []struct{ name, id string } {
	return []struct{ name, id string }{
		{"Empty", ""},
		{"OtherCase", swapCase(id)},
		{"Prefix", id[:len(id)-1]},
		{"TrailingSpace", id + " "},
		{"Wildcard", id[:len(id)/2] + "%"},
	}
}
