package authheader_test

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit/internal/authheader"
)

func TestParse(t *testing.T) {
	bearer := func(tok string) authheader.Credentials {
		return authheader.Credentials{Scheme: authheader.SchemeBearer, Token: tok}
	}
	dpop := func(tok string) authheader.Credentials {
		return authheader.Credentials{Scheme: authheader.SchemeDPoP, Token: tok}
	}
	tests := []struct {
		value   string
		want    authheader.Credentials
		wantErr bool
	}{
		{value: "Bearer mF_9.B5f-4.1JqM", want: bearer("mF_9.B5f-4.1JqM")},
		{value: "bearer mF_9.B5f-4.1JqM", want: bearer("mF_9.B5f-4.1JqM")},
		{value: "bEaReR abc", want: bearer("abc")},
		{value: "Bearer   abc", want: bearer("abc")},
		{value: "Bearer a-b.c_d~e+f/g", want: bearer("a-b.c_d~e+f/g")},
		{value: "Bearer abc==", want: bearer("abc==")},
		{value: "DPoP eyJhbGciOiJFUzI1NiJ9.e30.sig", want: dpop("eyJhbGciOiJFUzI1NiJ9.e30.sig")},
		{value: "dpop Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", want: dpop("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")},
		{value: "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
		{value: "Bearerx abc"},
		{value: "DPoPx abc"},
		{value: "Digest"},
		{value: "DPoP", wantErr: true},
		{value: "DPoP a b", wantErr: true},
		{value: `DPoP algs="ES256"`, wantErr: true},
		{value: "", wantErr: true},
		{value: " Bearer abc", wantErr: true},
		{value: "Bearer", wantErr: true},
		{value: "Bearer ", wantErr: true},
		{value: "Bearer abc ", wantErr: true},
		{value: "Bearer a b", wantErr: true},
		{value: "Bearer a=b", wantErr: true},
		{value: "Bearer ===", wantErr: true},
		{value: "Bearer =abc", wantErr: true},
		{value: `Bearer "abc"`, wantErr: true},
		{value: "Bearer abc,", wantErr: true},
		{value: "Bearer\tabc", wantErr: true},
		{value: "Bearer abc\r\n", wantErr: true},
		{value: "Bearer \xff", wantErr: true},
		{value: "B@sic abc", wantErr: true},
		{value: "(Bearer) abc", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := authheader.Parse(tt.value)
			if tt.wantErr {
				if !errors.Is(err, authheader.ErrMalformed) {
					t.Fatalf("Parse(%q) = %q, %v; want ErrMalformed", tt.value, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
			}
		})
	}
}

func TestFromHeader(t *testing.T) {
	tests := []struct {
		name    string
		values  []string // the Authorization header fields
		want    authheader.Credentials
		wantErr error
	}{
		{name: "none", values: nil},
		{name: "bearer", values: []string{"Bearer abc"}, want: authheader.Credentials{Scheme: "Bearer", Token: "abc"}},
		{name: "dpop", values: []string{"DPoP abc"}, want: authheader.Credentials{Scheme: "DPoP", Token: "abc"}},
		{name: "bearer and dpop", values: []string{"Bearer abc", "DPoP abc"}, wantErr: authheader.ErrRepeated},
		{name: "basic", values: []string{"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}},
		{name: "malformed", values: []string{"Bearer a b"}, wantErr: authheader.ErrMalformed},
		{name: "empty field", values: []string{""}, wantErr: authheader.ErrMalformed},
		{name: "two bearer fields", values: []string{"Bearer abc", "Bearer def"}, wantErr: authheader.ErrRepeated},
		{name: "bearer and basic", values: []string{"Bearer abc", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, wantErr: authheader.ErrRepeated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("Authorization", v)
			}
			got, err := authheader.FromHeader(h)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("FromHeader(%q) = %q, %v; want %q, %v", tt.values, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// The reference grammar, written independently of the parser as regular
// expressions: RFC 9110 §11.6.2 credentials, RFC 6750 §2.1 b64token (the
// token68 of RFC 9449 §7.1 too).
var (
	schemeRe = regexp.MustCompile("^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: |$)")
	tokenRe  = regexp.MustCompile(`^(?i:bearer|dpop) +([A-Za-z0-9._~+/-]+=*)$`)
)

// FuzzParse checks the parser against the reference grammar: it never
// panics, returns exactly the scheme and token the grammar finds, refuses
// what the grammar refuses, and ignores other schemes. Its seed corpus is
// in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string) {
		got, err := authheader.Parse(value)
		if err != nil && !errors.Is(err, authheader.ErrMalformed) {
			t.Fatalf("Parse(%q): error %v is not ErrMalformed", value, err)
		}
		var want authheader.Credentials
		wantErr := false
		switch m := schemeRe.FindStringSubmatch(value); {
		case m == nil:
			wantErr = true
		case !strings.EqualFold(m[1], "bearer") && !strings.EqualFold(m[1], "dpop"):
			// another scheme: no token
		default:
			if b := tokenRe.FindStringSubmatch(value); b != nil {
				want = authheader.Credentials{Scheme: authheader.SchemeBearer, Token: b[1]}
				if strings.EqualFold(m[1], "dpop") {
					want.Scheme = authheader.SchemeDPoP
				}
			} else {
				wantErr = true
			}
		}
		if (err != nil) != wantErr || got != want {
			t.Fatalf("Parse(%q) = %q, %v; want %q, error: %v", value, got, err, want, wantErr)
		}
		if got.Token != "" {
			if again, err := authheader.Parse(got.Scheme + " " + got.Token); again != got || err != nil {
				t.Fatalf("%q does not round-trip: %q, %v", got, again, err)
			}
			if !authheader.IsB64Token(got.Token) {
				t.Fatalf("token %q is not a b64token", got.Token)
			}
		}
	})
}
