package bearer

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseClaims feeds arbitrary JSON to the claims parser shared by JWTs
// and introspection responses: it must not panic, and what it returns must
// be consistent: registered claims never linger in Extra, scopes are
// non-empty words, times are in range.
func FuzzParseClaims(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"https://as.example.com","sub":"alice","aud":["a","b"],"client_id":"web","scope":"read  write","exp":1767322945,"iat":1767319345.5,"jti":"x","acr":"1","auth_time":1767319000}`,
		`{"aud":"one","active":true,"username":"bob","cnf":{"jkt":"abc"}}`,
		`{"cnf":{"x5t#S256":"abc"}}`, `{"cnf":{"jkt":""}}`, `{"cnf":{"jkt":7}}`, `{"cnf":null}`, `{"cnf":"jkt"}`, `{"cnf":{"jkt":"a","jkt":"b"}}`,
		`{"exp":null,"scope":null,"aud":null}`,
		`{"exp":"soon"}`, `{"exp":-1}`, `{"exp":1e300}`, `{"aud":[1]}`, `{"scope":["read"]}`,
		`[]`, `null`, `{`, `{"a":1,"a":2}`, `{"iss":"\u0000"}`,
		`{"iss":5,"iss":"a"}`, `{"ISS":"a"}`, `{"\u0069ss":"a"}`, `{"aud":"\u00e9"}`, `{"aud":"\xff"}`, `{"scope":""}`, `{"aud":[]}`,
		` {"exp":0,"iat":-0,"auth_time":1e3}`, `{"exp":1e400}`, `{"iss":"a"} x`, `{"aud":{"x":["iss"]},"sub":"b"}`,
	} {
		f.Add([]byte(seed))
	}
	registered := []string{"iss", "sub", "client_id", "jti", "acr", "aud", "scope", "exp", "iat", "auth_time"}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseClaims(data)
		if err != nil {
			if c != nil {
				t.Fatalf("claims %+v returned with error %v", c, err)
			}
			if onlyRegistered(data) {
				if _, gerr := parseGeneral(data); gerr == nil {
					t.Fatalf("struct path refused (%v) what the general path accepts", err)
				}
			}
			return
		}
		for name := range c.Extra {
			if slices.Contains(registered, name) {
				t.Errorf("registered claim %q left in Extra", name)
			}
		}
		for _, s := range c.Scope {
			if s == "" || strings.ContainsAny(s, " \t\r\n") {
				t.Errorf("scope word %q", s)
			}
		}
		for _, tm := range []struct {
			name string
			unix int64
			zero bool
		}{{"exp", c.ExpiresAt.Unix(), c.ExpiresAt.IsZero()}, {"iat", c.IssuedAt.Unix(), c.IssuedAt.IsZero()}, {"auth_time", c.AuthTime.Unix(), c.AuthTime.IsZero()}} {
			if !tm.zero && (tm.unix < 0 || tm.unix > maxNumericDate) {
				t.Errorf("%s out of range: %d", tm.name, tm.unix)
			}
		}
		if onlyRegistered(data) {
			// The struct path must mean exactly what the general path means.
			g, gerr := parseGeneral(data)
			if gerr != nil {
				t.Fatalf("struct path accepted what the general path refuses (%v)", gerr)
			}
			if diff := cmp.Diff(g, c); diff != "" {
				t.Fatalf("struct and general paths differ (-general +struct):\n%s", diff)
			}
		}
		d := c.clone()
		if d == c || (len(c.Scope) > 0 && &d.Scope[0] == &c.Scope[0]) {
			t.Errorf("clone shares memory with the original")
		}
		// cnf (RFC 9449 §6): taken out of Extra, its jkt a non-empty
		// string in JKT, or refused.
		hadCnf := c.hasExtra("cnf")
		if err := c.takeConfirmation(); err != nil {
			if !hadCnf || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("takeConfirmation: %v, with cnf %v", err, hadCnf)
			}
			return
		}
		if _, ok := c.Extra["cnf"]; ok || (c.JKT != "") != hadCnf {
			t.Fatalf("after takeConfirmation: JKT %q, Extra %v, had cnf %v", c.JKT, c.Extra, hadCnf)
		}
	})
}
