package oauthkit

import "testing"

func TestMatchRedirectURI(t *testing.T) {
	const reg = "https://app.example.com/cb"
	tests := []struct {
		name                  string
		registered, requested string
		want                  bool
		// bug, if set, describes a known defect that makes the case fail.
	}{
		{name: "exact", registered: reg, requested: reg, want: true},
		{name: "exact with query", registered: reg + "?tenant=a", requested: reg + "?tenant=a", want: true},
		{name: "added trailing slash", registered: reg, requested: reg + "/"},
		{name: "removed trailing slash", registered: reg + "/", requested: reg},
		{name: "host case", registered: reg, requested: "https://APP.example.com/cb"},
		{name: "scheme case", registered: reg, requested: "HTTPS://app.example.com/cb"},
		{name: "path case", registered: reg, requested: "https://app.example.com/CB"},
		{name: "http instead of https", registered: reg, requested: "http://app.example.com/cb"},
		{name: "explicit default port", registered: reg, requested: "https://app.example.com:443/cb"},
		{name: "added query", registered: reg, requested: reg + "?next=/admin"},
		{name: "removed query", registered: reg + "?tenant=a", requested: reg},
		{name: "changed query", registered: reg + "?tenant=a", requested: reg + "?tenant=b"},
		{name: "reordered query", registered: reg + "?a=1&b=2", requested: reg + "?b=2&a=1"},
		{name: "empty query", registered: reg, requested: reg + "?"},
		{name: "added fragment", registered: reg, requested: reg + "#frag"},
		{name: "empty fragment", registered: reg, requested: reg + "#"},
		{name: "percent-encoded path", registered: reg, requested: "https://app.example.com/c%62"},
		{name: "dot segment", registered: reg, requested: "https://app.example.com/x/../cb"},
		{name: "longer path", registered: reg, requested: reg + "/evil"},
		{name: "path prefix", registered: reg, requested: "https://app.example.com/c"},
		{name: "host suffix", registered: reg, requested: "https://app.example.com.evil.com/cb"},
		{name: "subdomain", registered: reg, requested: "https://evil.app.example.com/cb"},
		{name: "userinfo", registered: reg, requested: "https://user@app.example.com/cb"},
		{name: "host as userinfo", registered: reg, requested: "https://app.example.com@evil.com/cb"},
		{name: "empty requested", registered: reg, requested: ""},

		// RFC 8252 §7.3: any port for a loopback IP literal over http.
		{name: "IPv4 loopback without registered port", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:51004/cb", want: true},
		{name: "IPv4 loopback with another port", registered: "http://127.0.0.1:8080/cb", requested: "http://127.0.0.1:9090/cb", want: true},
		{name: "IPv4 loopback without requested port", registered: "http://127.0.0.1:8080/cb", requested: "http://127.0.0.1/cb", want: true},
		{name: "IPv4 loopback without path", registered: "http://127.0.0.1", requested: "http://127.0.0.1:1234", want: true},
		{name: "IPv4 loopback with query", registered: "http://127.0.0.1/cb?x=1", requested: "http://127.0.0.1:1234/cb?x=1", want: true},
		{name: "IPv6 loopback without registered port", registered: "http://[::1]/cb", requested: "http://[::1]:8000/cb", want: true},
		{name: "IPv6 loopback with another port", registered: "http://[::1]:80/cb", requested: "http://[::1]:65535/cb", want: true},
		{name: "IPv4 loopback with another path", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:1234/other"},
		{name: "IPv4 loopback with added query", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:1234/cb?x=1"},
		{name: "IPv4 loopback with added fragment", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:1234/cb#x"},
		{name: "IPv4 loopback with trailing slash", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:1234/cb/"},
		{name: "IPv4 registered, IPv6 requested", registered: "http://127.0.0.1/cb", requested: "http://[::1]:1234/cb"},
		{name: "IPv6 registered, IPv4 requested", registered: "http://[::1]/cb", requested: "http://127.0.0.1:1234/cb"},
		{name: "localhost gets no exception", registered: "http://localhost:8080/cb", requested: "http://localhost:9090/cb"},
		{name: "localhost for a loopback IP", registered: "http://127.0.0.1/cb", requested: "http://localhost:9090/cb"},
		{name: "https loopback gets no exception", registered: "https://127.0.0.1:8080/cb", requested: "https://127.0.0.1:9090/cb"},
		{name: "uppercase scheme on loopback", registered: "http://127.0.0.1/cb", requested: "HTTP://127.0.0.1:1234/cb"},
		{name: "other 127/8 address", registered: "http://127.0.0.2:1/cb", requested: "http://127.0.0.2:2/cb"},
		{name: "short IPv4 loopback", registered: "http://127.1:1/cb", requested: "http://127.1:2/cb"},
		{name: "long-form IPv6 loopback", registered: "http://[0:0:0:0:0:0:0:1]:1/cb", requested: "http://[0:0:0:0:0:0:0:1]:2/cb"},
		{name: "IPv4-mapped IPv6 loopback", registered: "http://127.0.0.1/cb", requested: "http://[::ffff:127.0.0.1]:2/cb"},
		{name: "non-loopback IP", registered: "http://10.0.0.1:1/cb", requested: "http://10.0.0.1:2/cb"},
		{name: "userinfo on loopback", registered: "http://127.0.0.1/cb", requested: "http://evil@127.0.0.1:1234/cb"},
		{name: "loopback as userinfo", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:80@evil.com/cb"},
		{name: "backslash after loopback port", registered: "http://127.0.0.1/cb", requested: `http://127.0.0.1:80\@evil.com/cb`},
		{name: "empty port", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:/cb"},
		{name: "letters in port", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:80a/cb"},
		{name: "signed port", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:+80/cb"},
		{name: "negative port", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:-1/cb"},
		{name: "six-digit port", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:100000/cb"},
		{name: "two ports", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:1:2/cb"},
		{name: "non-ASCII digits in port", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:８０/cb"},
		{
			name: "port above 65535", registered: "http://127.0.0.1/cb", requested: "http://127.0.0.1:65536/cb",
		},
		{
			name: "five-digit port above 65535", registered: "http://127.0.0.1:8080/cb", requested: "http://127.0.0.1:99999/cb",
		},
		{name: "malformed registered loopback", registered: "http://127.0.0.1:x/cb", requested: "http://127.0.0.1:1/cb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchRedirectURI(tt.registered, tt.requested, true); got != tt.want {
				t.Errorf("MatchRedirectURI(%q, %q, native) = %t, want %t", tt.registered, tt.requested, got, tt.want)
			}
			// A web client's URIs match only exactly (RFC 8252 §7.3 is for
			// native apps).
			if got, want := MatchRedirectURI(tt.registered, tt.requested, false), tt.registered == tt.requested; got != want {
				t.Errorf("MatchRedirectURI(%q, %q, web) = %t, want %t", tt.registered, tt.requested, got, want)
			}
		})
	}
}

func TestResolveRedirectURI(t *testing.T) {
	tests := []struct {
		name       string
		registered []string
		requested  string
		want       string
		wantOK     bool
	}{
		{name: "omitted with one registered", registered: []string{"https://a.example/cb"}, want: "https://a.example/cb", wantOK: true},
		{name: "omitted with two registered", registered: []string{"https://a.example/cb", "https://a.example/cb2"}},
		{name: "omitted with none registered"},
		{name: "requested with none registered", requested: "https://a.example/cb"},
		{name: "second of two registered", registered: []string{"https://a.example/cb", "https://a.example/cb2"}, requested: "https://a.example/cb2", want: "https://a.example/cb2", wantOK: true},
		{name: "unregistered", registered: []string{"https://a.example/cb"}, requested: "https://b.example/cb"},
		{name: "loopback keeps the requested port", registered: []string{"http://127.0.0.1/cb"}, requested: "http://127.0.0.1:4000/cb", want: "http://127.0.0.1:4000/cb", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := resolveRedirectURI(&Client{RedirectURIs: tt.registered}, tt.requested)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("resolveRedirectURI(%q, %q) = %q, %t; want %q, %t", tt.registered, tt.requested, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
