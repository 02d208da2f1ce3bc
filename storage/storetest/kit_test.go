package storetest

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFixturesSetEveryField guards the round-trip checks: a field the
// fixtures leave zero is a field the kit never sees a store lose. A field
// added to Token, AuthorizationCode, Client, DeviceAuthorization or
// PushedRequest fails this test until the fixtures set it.
func TestFixturesSetEveryField(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		value any
		unset []string // fields the fixture leaves zero on purpose
	}{
		// A client has jwks or jwks_uri (RFC 7591 §2): the next fixture
		// has the URI. A sealed secret is for client_secret_jwt only: the
		// third has it.
		{"Client", testClients(e.tag)[0], []string{"JWKSURI", "SealedSecret"}},
		{"PublicClient", testClients(e.tag)[1], []string{"Name", "SecretHash", "DefaultScopes", "Audience", "AccessTokenFormat", "JWKS", "SealedSecret", "Resources", "DPoPBoundAccessTokens", "RequirePushedAuthorizationRequests", "Registration"}},
		{"SecretJWTClient", testClients(e.tag)[2], []string{"SecretHash", "RedirectURIs", "JWKS", "JWKSURI", "Resources", "DPoPBoundAccessTokens", "RequirePushedAuthorizationRequests", "Registration"}},
		{"ClientRegistration", testClients(e.tag)[0].Registration, nil},
		{"AuthorizationCode", e.code("c"), nil},
		// Tokens created with CreateTokens have no parent; RotatedAt is set
		// by the store.
		{"Token", e.token("a", "g"), []string{"ParentID", "RotatedAt"}},
		{"ExchangedToken", e.exchange(e.token("r1", "g"), "2", e.now)[1], []string{"RotatedAt"}},
		// A new device authorization: the store sets the rest.
		{"DeviceAuthorization", e.device("d"), []string{"LastPolledAt", "Status", "Subject", "AuthTime", "ACR"}},
		{"ApprovedDevice", e.approvedDevice("d", e.now), nil},
		{"PushedRequest", e.pushed("p"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := reflect.ValueOf(tc.value).Elem()
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				zero := v.Field(i).IsZero()
				if want := slices.Contains(tc.unset, f.Name); zero != want {
					t.Errorf("%s fixture: field %s zero = %v, want %v", tc.name, f.Name, zero, want)
				}
			}
		})
	}
}

func TestDiff(t *testing.T) {
	type item struct {
		ID    string
		Scope []string
		At    time.Time
		N     int
		priv  int
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	now := time.Now()
	cases := []struct {
		name      string
		got, want *item
		diffs     []string // the fields that differ
	}{
		{"Equal", &item{ID: "a", Scope: []string{"x"}, At: at, N: 1}, &item{ID: "a", Scope: []string{"x"}, At: at, N: 1}, nil},
		{"TimeInOtherLocation", &item{At: at.In(time.FixedZone("X", 3600))}, &item{At: at}, nil},
		{"TimeWithMonotonicReading", &item{At: now}, &item{At: now.Round(0)}, nil},
		{"ZeroTime", &item{At: time.Time{}}, &item{At: at}, []string{"At"}},
		{"MicrosecondLost", &item{At: at.Truncate(time.Second)}, &item{At: at}, []string{"At"}},
		{"NilAndEmptySlice", &item{Scope: nil}, &item{Scope: []string{}}, nil},
		{"SliceOrder", &item{Scope: []string{"b", "a"}}, &item{Scope: []string{"a", "b"}}, []string{"Scope"}},
		{"SliceLength", &item{Scope: []string{"a"}}, &item{Scope: []string{"a", "b"}}, []string{"Scope"}},
		{"SeveralFields", &item{ID: "b", N: 2}, &item{ID: "a", N: 1}, []string{"ID", "N"}},
		{"UnexportedIgnored", &item{priv: 1}, &item{priv: 2}, nil},
		{"NilGot", nil, &item{}, []string{"got nil"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := diff(tc.got, tc.want)
			var fields []string
			for _, line := range d {
				fields = append(fields, strings.SplitN(line, " = ", 2)[0])
			}
			if !slices.Equal(fields, tc.diffs) {
				t.Errorf("diff(%+v, %+v) = %q, want differences in %q", tc.got, tc.want, d, tc.diffs)
			}
		})
	}
}

func TestLookalikesDiffer(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{e.id("code/c"), e.tag + "-web"} {
		for _, l := range lookalikes(id) {
			if l.id == id {
				t.Errorf("lookalike %s of %q is the ID itself", l.name, id)
			}
		}
	}
	key := e.key("café jti-1")
	seen := map[string]string{key: "the key"}
	for _, l := range append(lookalikes(key), byteLookalikes(key)...) {
		if prev, ok := seen[l.id]; ok {
			t.Errorf("replay lookalike %s of %q is %s", l.name, key, prev)
		}
		seen[l.id] = l.name
	}
}
