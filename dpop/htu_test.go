package dpop_test

import (
	"testing"

	"github.com/oauthkit/oauthkit/dpop"
)

func TestNormalizeHTU(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"https://as.example.com/token", "https://as.example.com/token"},
		{"HTTPS://AS.EXAMPLE.COM/token", "https://as.example.com/token"},
		{"https://as.example.com:443/token", "https://as.example.com/token"},
		{"https://as.example.com:/token", "https://as.example.com/token"},
		{"https://as.example.com:0443/token", "https://as.example.com/token"},
		{"https://as.example.com:80/token", "https://as.example.com:80/token"},
		{"http://as.example.com:80/token", "http://as.example.com/token"},
		{"http://as.example.com:443/token", "http://as.example.com:443/token"},
		{"https://as.example.com:8443/token", "https://as.example.com:8443/token"},
		{"https://as.example.com/token?x=1#f", "https://as.example.com/token"},
		{"https://as.example.com", "https://as.example.com/"},
		{"https://as.example.com?x", "https://as.example.com/"},
		{"https://as.example.com/Token", "https://as.example.com/Token"},
		{"https://as.example.com/token/", "https://as.example.com/token/"},
		{"https://as.example.com/%7Euser/%41", "https://as.example.com/~user/A"},
		{"https://as.example.com/a%2fb", "https://as.example.com/a%2Fb"},
		{"https://as.example.com/a%2Fb", "https://as.example.com/a%2Fb"},
		{"https://as.example.com/a/./b/../c", "https://as.example.com/a/c"},
		{"https://as.example.com/../../a", "https://as.example.com/a"},
		{"https://as.example.com/a/..", "https://as.example.com/"},
		{"https://as.example.com//a", "https://as.example.com//a"},
		{"https://[::1]:443/t", "https://[::1]/t"},
		{"https://[::1]:8443/t", "https://[::1]:8443/t"},
		{"https://[FE80::1]/t", "https://[fe80::1]/t"},
	} {
		got, err := dpop.NormalizeHTU(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeHTU(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if again, err := dpop.NormalizeHTU(got); err != nil || again != got {
			t.Errorf("NormalizeHTU(%q) = %q, %v; not idempotent", got, again, err)
		}
	}
	for _, in := range []string{
		"", "/token", "as.example.com/token", "ftp://as.example.com/t", "https:///token",
		"https://u:p@as.example.com/t", "https://as.example.com:99999/t", "https://as.example.com:0/t",
		"https://as.example.com:x/t", "urn:ietf:x", "https:opaque", "https://as.example.com/%zz",
	} {
		if got, err := dpop.NormalizeHTU(in); err == nil {
			t.Errorf("NormalizeHTU(%q) = %q, want an error", in, got)
		}
	}
}
