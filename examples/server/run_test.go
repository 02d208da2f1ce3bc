package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr string
	}{
		{name: "no flags", args: nil, want: options{addr: "127.0.0.1:9000", store: "memory"}},
		{name: "addr", args: []string{"-addr", "127.0.0.1:0"}, want: options{addr: "127.0.0.1:0", store: "memory"}},
		{name: "config", args: []string{"-config", "server.json"}, want: options{addr: "127.0.0.1:9000", configPath: "server.json", store: "memory"}},
		{name: "both", args: []string{"-addr", ":8080", "-config=s.json"}, want: options{addr: ":8080", configPath: "s.json", store: "memory"}},
		{name: "store", args: []string{"-store", "postgres://db.example/oauth"}, want: options{addr: "127.0.0.1:9000", store: "postgres://db.example/oauth"}},
		{name: "unknown flag", args: []string{"-port", "1"}, wantErr: "flag provided but not defined: -port"},
		{name: "argument", args: []string{"server.json"}, wantErr: `unexpected argument "server.json" (flags are -addr, -config and -store)`},
		{name: "help", args: []string{"-h"}, wantErr: flag.ErrHelp.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseFlags(tt.args, &stderr)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseFlags error = %v, want %q", err, tt.wantErr)
				}
				if tt.name != "argument" && !strings.Contains(stderr.String(), "usage: server") {
					t.Errorf("no usage on stderr: %q", stderr.String())
				}
				// The error is returned, and main prints it: the flag
				// package does not print it too.
				if strings.Contains(stderr.String(), tt.wantErr) {
					t.Errorf("the error is on stderr as well as returned:\n%s", stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(options{})); diff != "" {
				t.Errorf("parseFlags (-want +got):\n%s", diff)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutine and the
// test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startRun runs the program with args until the test ends and returns its
// banner.
func startRun(t *testing.T, args ...string) string {
	t.Helper()
	banner, _ := startStoppableRun(t, args...)
	return banner
}

// startStoppableRun runs the program with args and returns its banner and
// a function that stops it (as Ctrl-C would) and checks that it stopped
// cleanly. The program is stopped when the test ends at the latest.
func startStoppableRun(t *testing.T, args ...string) (banner string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run returned %v after cancel", err)
				}
				if !strings.Contains(stderr.String(), "msg=stopped") {
					t.Errorf("no shutdown in the log:\n%s", stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Errorf("run did not stop after cancel")
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.After(20 * time.Second)
	for {
		if out := stdout.String(); strings.Contains(out, bannerEnd+"\n") {
			return out, stop
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\nstderr:\n%s", err, stderr.String())
		case <-deadline:
			t.Fatalf("no banner after 20s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// bannerLine returns the first line of the banner after the line that
// contains marker, trimmed.
func bannerLine(t *testing.T, banner, marker string) string {
	t.Helper()
	lines := strings.Split(banner, "\n")
	for i, l := range lines {
		if strings.Contains(l, marker) && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	t.Fatalf("no line after %q in the banner:\n%s", marker, banner)
	return ""
}

var urlLineRE = regexp.MustCompile(`(?m)^  (issuer|authorize|token|revoke|introspect|metadata|discovery|userinfo|jwks|api)\s+(\S+)$`)

func TestRunPrintsAWorkingBanner(t *testing.T) {
	banner := startRun(t, "-addr", "127.0.0.1:0")

	urls := make(map[string]string)
	for _, m := range urlLineRE.FindAllStringSubmatch(banner, -1) {
		urls[m[1]] = m[2]
	}
	issuer := urls["issuer"]
	if !strings.HasPrefix(issuer, "http://127.0.0.1:") || strings.HasSuffix(issuer, ":0") {
		t.Fatalf("issuer %q is not the listening address; banner:\n%s", issuer, banner)
	}
	wantURLs := map[string]string{
		"issuer":     issuer,
		"authorize":  issuer + "/authorize",
		"token":      issuer + "/token",
		"revoke":     issuer + "/revoke",
		"introspect": issuer + "/introspect",
		"metadata":   issuer + "/.well-known/oauth-authorization-server",
		"discovery":  issuer + "/.well-known/openid-configuration",
		"userinfo":   issuer + "/userinfo",
		"jwks":       issuer + "/.well-known/jwks.json",
		"api":        issuer + "/api/me",
	}
	if diff := cmp.Diff(wantURLs, urls); diff != "" {
		t.Errorf("banner URLs (-want +got):\n%s", diff)
	}
	for _, want := range []string{"web ", "spa ", "svc ", "legacy ", "alice / wonderland",
		"\nStore: memory (everything is lost when the server stops)\n", "\nAccess tokens: opaque\n",
		"\nOpenID Connect: on; discovery at " + issuer + "/.well-known/openid-configuration\n",
		"redirect [" + issuer + "/callback/web]", "redirect [" + issuer + "/callback/spa]",
		"\nthen the callback page of web (" + issuer + "/callback/web) shows the code and the command that redeems it;\n",
		"\nAuthorization codes are single-use and live 60 s: redeem a code within 60 s of its redirect.\n"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not show %q:\n%s", want, banner)
		}
	}

	t.Run("metadata", func(t *testing.T) {
		resp, err := http.Get(urls["metadata"])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		if m["issuer"] != issuer || m["token_endpoint"] != urls["token"] || m["authorization_endpoint"] != urls["authorize"] {
			t.Errorf("metadata %v does not match the banner", m)
		}
	})

	curlLine := bannerLine(t, banner, "Try it (client_credentials for svc)")
	t.Run("curl line", func(t *testing.T) {
		if !strings.HasPrefix(curlLine, "curl ") {
			t.Fatalf("no curl line in the banner:\n%s", banner)
		}
		checkTokenResponse(t, "as parsed", doCurl(t, curlLine), "read write")
		checkTokenResponse(t, "with curl", shellCurl(t, curlLine), "read write")
	})

	t.Run("API line", func(t *testing.T) {
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(doCurl(t, curlLine), &tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("no access token from the curl line: %v", err)
		}
		line := bannerLine(t, banner, "Call the demo API")
		if !strings.Contains(line, tokenPlaceholder) {
			t.Fatalf("the API line %q has no %s", line, tokenPlaceholder)
		}
		line = strings.Replace(line, tokenPlaceholder, tok.AccessToken, 1)
		want := `{"sub":"svc","client_id":"svc","scope":"read write"}` + "\n"
		if got := doCurl(t, line); string(got) != want {
			t.Errorf("as parsed: %s, want %s", got, want)
		}
		if got := shellCurl(t, line); got != nil && string(got) != want {
			t.Errorf("with curl: %s, want %s", got, want)
		}
	})

	t.Run("authorization code lines", func(t *testing.T) {
		authURL := bannerLine(t, banner, "open this in a browser")
		exchange := bannerLine(t, banner, "take the code from the address")
		ua := newAgent(t, http.DefaultClient, issuer)
		loc := ua.authorize(authURL, actionApprove)
		q := loc.Query()
		if q.Get("state") != "demo" || q.Get("iss") != issuer || q.Get("code") == "" {
			t.Fatalf("redirect %s: want a code, state=demo and iss", loc)
		}
		line := strings.Replace(exchange, codePlaceholder, q.Get("code"), 1)
		checkTokenResponse(t, "with curl", shellCurl(t, line), "openid profile read write")
	})

	t.Run("callback page", func(t *testing.T) {
		// The banner's URL ends on the callback page, whose command
		// works as shown.
		ua := newAgent(t, http.DefaultClient, issuer)
		loc := ua.authorize(bannerLine(t, banner, "open this in a browser"), actionApprove)
		if !strings.HasPrefix(loc.String(), issuer+"/callback/web?") {
			t.Fatalf("redirected to %s, want the callback page", loc)
		}
		p := ua.get(loc.String())
		cmd := callbackCommand(p)
		if p.status != http.StatusOK || cmd == "" {
			t.Fatalf("callback page: status %d, no command:\n%s", p.status, p.body)
		}
		checkTokenResponse(t, "with curl", shellCurl(t, cmd), "openid profile read write")
	})
}

func checkTokenResponse(t *testing.T, how string, body []byte, wantScope string) {
	t.Helper()
	if body == nil {
		return // skipped
	}
	var resp struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.AccessToken == "" || resp.TokenType != "Bearer" || resp.Scope != wantScope {
		t.Errorf("%s: the printed command got %s, want a Bearer token with scope %q", how, body, wantScope)
	}
}

// shellCurl runs line with sh and curl, or returns nil when they are
// missing.
func shellCurl(t *testing.T, line string) []byte {
	t.Helper()
	for _, tool := range []string{"sh", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s not found; not running the printed command as is", tool)
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", line).Output()
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return out
}

// doCurl performs what the curl line asks, as curl would: the words after
// "curl" are -s, -u user:password, -H header, -d data (joined with &, sent
// as a form in a POST; without -d, the request is a GET) and the URL.
func doCurl(t *testing.T, line string) []byte {
	t.Helper()
	words := shellWords(t, line)
	if len(words) < 2 || words[0] != "curl" {
		t.Fatalf("not a curl command: %q", line)
	}
	var data, headers []string
	var userinfo, target string
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-s":
		case (w == "-u" || w == "-d" || w == "-H") && i+1 < len(words):
			i++
			switch w {
			case "-u":
				userinfo = words[i]
			case "-d":
				data = append(data, words[i])
			default:
				headers = append(headers, words[i])
			}
		case !strings.HasPrefix(w, "-") && target == "":
			target = w
		default:
			t.Fatalf("unexpected curl argument %q in %q", w, line)
		}
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if len(data) > 0 {
		req, err = http.NewRequest(http.MethodPost, target, strings.NewReader(strings.Join(data, "&")))
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ": ")
		if !ok {
			t.Fatalf("curl header %q is not Name: value", h)
		}
		req.Header.Set(name, value)
	}
	if userinfo != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(userinfo)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: status %d: %s", line, resp.StatusCode, body)
	}
	return body
}

// shellWords splits a command line as a POSIX shell does for unquoted and
// single-quoted words, the only forms shellQuote produces.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case strings.IndexByte(`"$`+"`"+`;&|<>*?(){}[]!#~`, c) >= 0:
			t.Fatalf("shell metacharacter %q unquoted in %q", c, line)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"svc", "svc"},
		{"svc:svc-secret", "svc:svc-secret"},
		{"scope=read+write", "scope=read+write"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"", "''"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := shellQuote(tt.in)
			if got != tt.want {
				t.Fatalf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if words := shellWords(t, "x "+got); len(words) != 2 || words[1] != tt.in {
				t.Errorf("the shell reads %q back as %q", got, words)
			}
		})
	}
}

// A config whose secrets need quoting still prints a curl line that works.
func TestRunCurlLineWithAwkwardSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.json")
	cfg := `{"clients": [{"id": "svc:1", "secret": "it's a $ecret: 100%", "grant_types": ["client_credentials"], "scopes": ["read"]}], "users": []}`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	banner := startRun(t, "-addr", "127.0.0.1:0", "-config", path)
	line := bannerLine(t, banner, "Try it (client_credentials for svc:1)")
	checkTokenResponse(t, "as parsed", doCurl(t, line), "read")
	checkTokenResponse(t, "with curl", shellCurl(t, line), "read")
	if strings.Contains(banner, "open this in a browser") {
		t.Errorf("the banner offers a code flow with no client for it:\n%s", banner)
	}
}

func TestRunErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"access_token_format": "paseto"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A client named like a user: its client_credentials tokens would
	// have the user's subject (RFC 9700 §4.15.1).
	collision := filepath.Join(dir, "collision.json")
	if err := os.WriteFile(collision, []byte(`{"users": [{"username": "svc", "password": "pw"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.json")
	if err := os.WriteFile(truncated, []byte("{\n  \"issuer\": null\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	closed := closedAddr(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
		// wantIn are further words the error must have; wantNot, words
		// it must not have.
		wantIn, wantNot []string
	}{
		{name: "bad flag", args: []string{"-nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "invalid config", args: []string{"-addr", "127.0.0.1:0", "-config", bad}, wantErr: `config: access_token_format: unknown format "paseto"`},
		{name: "client ID equals a username", args: []string{"-addr", "127.0.0.1:0", "-config", collision}, wantErr: `config: clients[2].id: "svc" is also the username of users[0]`},
		{name: "truncated config", args: []string{"-addr", "127.0.0.1:0", "-config", truncated}, wantErr: "config: " + truncated + ":2:17: unexpected end of JSON"},
		{name: "unknown store", args: []string{"-addr", "127.0.0.1:0", "-store", "mysql://root:hunter2@db/x"}, wantErr: `-store: want "memory" or a PostgreSQL URL such as postgres://user@127.0.0.1:5432/db?sslmode=disable, got "(not shown: it may hold a password)"`},
		{name: "store not a URL", args: []string{"-addr", "127.0.0.1:0", "-store", "sqlite"}, wantErr: `-store: want "memory" or a PostgreSQL URL such as postgres://user@127.0.0.1:5432/db?sslmode=disable, got "sqlite"`},
		{
			// One message, not the driver's and the store's prefixes,
			// saying what to check.
			name:    "database refuses connections",
			args:    []string{"-addr", "127.0.0.1:0", "-store", "postgres://u:hunter2@" + closed + "/x?sslmode=disable&connect_timeout=5"},
			wantErr: "-store: cannot connect to PostgreSQL at postgres://u:xxxxx@" + closed + "/x?sslmode=disable&connect_timeout=5: connection refused: nothing listens at " + closed + "; check that the PostgreSQL server is running",
			wantIn:  []string{"-store URL"},
			wantNot: []string{"postgres: open", "oauthkit:", "failed to connect", "dial error", "dial tcp"},
		},
		{name: "missing config", args: []string{"-config", filepath.Join(dir, "none.json")}, wantErr: "config: open "},
		{
			name:    "address in use",
			args:    []string{"-addr", busy.Addr().String()},
			wantErr: "-addr " + busy.Addr().String() + ": the address is already in use",
			wantIn:  []string{"choose another address with -addr", "-addr 127.0.0.1:0"},
			wantNot: []string{"listen tcp"},
		},
		{name: "address not an address", args: []string{"-addr", "127.0.0.1"}, wantErr: "-addr 127.0.0.1: cannot listen there: ", wantIn: []string{"missing port in address", "choose another address with -addr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := run(ctx, tt.args, &stdout, &stderr)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("run error = %v, want prefix %q", err, tt.wantErr)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("run error = %v, want it to say %q", err, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(err.Error(), w) {
					t.Errorf("run error = %v; it should not say %q", err, w)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("run printed a banner before failing:\n%s", stdout.String())
			}
			// What the user sees: stderr, then main's "server: " + err.
			seen := stderr.String() + "server: " + err.Error() + "\n"
			if strings.Contains(seen, "hunter2") {
				t.Errorf("the password of the -store URL is shown: %s", seen)
			}
			if n := strings.Count(seen, tt.wantErr); n != 1 {
				t.Errorf("the error is shown %d times, want once:\n%s", n, seen)
			}
		})
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// An address without a host gets a loopback issuer.
func TestIssuerHost(t *testing.T) {
	tests := []struct {
		addr net.TCPAddr
		want string
	}{
		{net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}, "127.0.0.1:9000"},
		{net.TCPAddr{IP: net.IPv6loopback, Port: 9000}, "[::1]:9000"},
		{net.TCPAddr{IP: net.IPv6unspecified, Port: 9000}, "127.0.0.1:9000"},
		{net.TCPAddr{IP: net.IPv4zero, Port: 80}, "127.0.0.1:80"},
		{net.TCPAddr{Port: 80}, "127.0.0.1:80"},
	}
	for _, tt := range tests {
		t.Run(tt.addr.String(), func(t *testing.T) {
			if got := issuerHost(&tt.addr); got != tt.want {
				t.Errorf("issuerHost(%v) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}
