package main

import (
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// commandRE finds the callback page's command.
var commandRE = regexp.MustCompile(`<pre id="command">([^<]*)</pre>`)

// callbackCommand returns the command on the callback page p, or "".
func callbackCommand(p *page) string {
	m := commandRE.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// The demo flow ends on the example's callback page, whose command redeems
// the code as printed: the page itself redeemed nothing.
func TestCallbackPageFlow(t *testing.T) {
	ts := demoServer()
	tests := []struct {
		name     string
		clientID string
		secret   string
		state    string // the banner's, "demo", lets the page fill in the verifier
		scope    string
	}{
		{name: "banner's flow", clientID: "web", secret: "s3cret", state: demoState, scope: "openid profile read write"},
		{name: "confidential client, own verifier", clientID: "web", secret: "s3cret", state: "mine", scope: "read"},
		{name: "public client, own verifier", clientID: "spa", state: "mine", scope: "read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua := newUserAgent(t, ts)
			authURL, verifier := ts.app.try.AuthorizeURL, ts.app.try.Verifier
			if tt.state != demoState {
				verifier = oauth2.GenerateVerifier()
				authURL = oauthConfig(ts, tt.clientID, tt.secret, strings.Fields(tt.scope)...).AuthCodeURL(tt.state, oauth2.S256ChallengeOption(verifier))
			}
			loc := ua.authorize(authURL, actionApprove)
			if want := ts.issuer + pathCallback + "/" + tt.clientID; loc.Scheme+"://"+loc.Host+loc.Path != want {
				t.Fatalf("redirected to %s, want the callback page %s", loc, want)
			}
			p := ua.get(loc.String())
			if p.status != http.StatusOK {
				t.Fatalf("callback page: status %d:\n%s", p.status, p.body)
			}
			checkPageHeaders(t, p, "'self'")
			code := loc.Query().Get("code")
			for _, want := range []string{
				`<code id="code">` + html.EscapeString(code) + `</code>`,
				"<code>" + tt.state + "</code>",
				"<code>" + ts.issuer + "</code>",
				"within 60 s",
				"This page does not redeem it",
			} {
				if !strings.Contains(p.body, want) {
					t.Errorf("the callback page does not show %q:\n%s", want, p.body)
				}
			}
			cmd := callbackCommand(p)
			if cmd == "" {
				t.Fatalf("no command on the callback page:\n%s", p.body)
			}
			if tt.state == demoState {
				if strings.Contains(cmd, verifierPlaceholder) {
					t.Errorf("the banner's flow should get its verifier filled in: %s", cmd)
				}
			} else {
				if !strings.Contains(cmd, verifierPlaceholder) || !strings.Contains(p.body, "This server requires PKCE") {
					t.Errorf("a flow with another verifier should get a placeholder and a reminder: %s", cmd)
				}
				cmd = strings.Replace(cmd, verifierPlaceholder, verifier, 1)
			}
			if tt.secret != "" && !strings.Contains(cmd, "-u "+tt.clientID+":"+tt.secret) {
				t.Errorf("the command does not authenticate as the banner prints %s: %s", tt.clientID, cmd)
			}
			checkTokenResponse(t, "as parsed", doCurl(t, cmd), tt.scope)
		})
	}
}

// The callback page shows what it is given, escaped, and an error in plain
// words; it refuses to make up a command for a client it does not know.
func TestCallbackPage(t *testing.T) {
	cfg := demoConfig()
	// A configured client may register the callback page too; the page
	// does not show its secret.
	// (Its redirect URI, under the issuer, is known only once the server
	// is: the page's view of it is set before the first request.)
	own := clientConfig{ID: "own", Secret: "own-secret", RedirectURIs: []string{"https://own.example/cb"}, GrantTypes: []string{"authorization_code"}}
	cfg.Clients = append(cfg.Clients, own)
	ts := startCustomServer(t, cfg, false, slog.New(slog.DiscardHandler), func(a *app) {
		own.RedirectURIs = []string{callbackURI(a.issuer, own.ID)}
		a.byID[own.ID] = own
	})
	t.Cleanup(ts.Close)

	tests := []struct {
		name       string
		path       string
		query      url.Values
		wantStatus int
		want       []string
		wantNot    []string
		wantCmd    []string // in the command; nil: no command
	}{
		{
			name: "markup is escaped", path: "/web",
			query:      url.Values{"code": {`<script>alert(1)</script>'$(id)`}, "state": {"<b>s</b>"}, "iss": {ts.issuer}},
			wantStatus: 200,
			want:       []string{`<code id="code">&lt;script&gt;alert(1)&lt;/script&gt;&#39;$(id)</code>`, "<code>&lt;b&gt;s&lt;/b&gt;</code>", "Demo Web App"},
			wantNot:    []string{"<script>", "<b>s"},
			wantCmd:    []string{"-u web:s3cret", "code=%3Cscript%3Ealert%281%29%3C%2Fscript%3E%27%24%28id%29", verifierPlaceholder},
		},
		{
			name: "public client", path: "/spa", query: url.Values{"code": {"abc"}, "state": {"x"}},
			wantStatus: 200,
			want:       []string{"Demo Single-Page App", "replace <code>" + verifierPlaceholder + "</code>"},
			wantCmd:    []string{"-d client_id=spa", "-d code=abc", "-d redirect_uri=" + url.QueryEscape(ts.issuer+"/callback/spa")},
			wantNot:    []string{"-u "},
		},
		{
			name: "configured client: no secret shown", path: "/own", query: url.Values{"code": {"abc"}},
			wantStatus: 200,
			want:       []string{"Replace <code>" + secretPlaceholder + "</code>"},
			wantNot:    []string{"own-secret"},
			wantCmd:    []string{"-u own:" + secretPlaceholder},
		},
		{
			name: "unknown client", path: "/nobody", query: url.Values{"code": {"abc"}},
			wantStatus: 200,
			want:       []string{`<code id="code">abc</code>`, "Redeem it at the token endpoint <code>" + ts.issuer + pathToken + "</code>"},
		},
		{
			name: "no client", path: "", query: url.Values{"code": {"abc"}},
			wantStatus: 200,
			want:       []string{`<code id="code">abc</code>`, "Here is an authorization code"},
		},
		{
			name: "denied", path: "/web",
			query:      url.Values{"error": {"access_denied"}, "error_description": {"the user denied the request <i>"}, "state": {"st"}, "iss": {ts.issuer}},
			wantStatus: 200,
			want: []string{"<h1>Authorization not granted</h1>", "The sign-in was cancelled, or the request was denied on the consent page.",
				"<code>access_denied</code>", "the user denied the request &lt;i&gt;", "<code>st</code>"},
			wantNot: []string{"<i>"},
		},
		{
			name: "other error", path: "/web", query: url.Values{"error": {"invalid_scope"}},
			wantStatus: 200,
			want:       []string{"The request asked for a scope that the client may not have.", "<code>invalid_scope</code>"},
		},
		{
			name: "another issuer", path: "/web", query: url.Values{"code": {"abc"}, "iss": {"https://evil.example"}},
			wantStatus: 200,
			want:       []string{"This response names another issuer than this server"},
			wantCmd:    []string{"code=abc"},
		},
		{
			name: "nothing", path: "/web", query: nil,
			wantStatus: 400,
			want:       []string{"This address received no authorization response"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newUserAgent(t, ts).get(ts.issuer + pathCallback + tt.path + "?" + tt.query.Encode())
			if p.status != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", p.status, tt.wantStatus, p.body)
			}
			checkPageHeaders(t, p, "'self'")
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("the page does not show %q:\n%s", w, p.body)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(p.body, w) {
					t.Errorf("the page shows %q:\n%s", w, p.body)
				}
			}
			cmd := callbackCommand(p)
			if tt.wantCmd == nil && cmd != "" {
				t.Errorf("the page has a command, want none: %s", cmd)
			}
			if tt.wantCmd != nil {
				words := shellWords(t, cmd) // no unquoted shell metacharacters
				if len(words) == 0 || words[0] != "curl" || words[len(words)-1] != ts.issuer+pathToken {
					t.Errorf("the command is not a curl to the token endpoint: %s", cmd)
				}
			}
			for _, w := range tt.wantCmd {
				if !strings.Contains(cmd, w) {
					t.Errorf("the command %q does not have %q", cmd, w)
				}
			}
		})
	}
}

// The banner and the callback page tell the server's code lifetime, not a
// number of their own.
func TestCodeLifetimeShown(t *testing.T) {
	saved := codeLifetime
	codeLifetime = 90 * time.Second
	t.Cleanup(func() { codeLifetime = saved })

	banner := startRun(t, "-addr", "127.0.0.1:0")
	if want := "\nAuthorization codes are single-use and live 90 s: redeem a code within 90 s of its redirect.\n"; !strings.Contains(banner, want) {
		t.Errorf("the banner does not say %q:\n%s", strings.TrimSpace(want), banner)
	}
	issuer := bannerURL(t, banner, "issuer")
	resp, err := http.Get(issuer + pathCallback + "/web?code=abc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "within 90 s") {
		t.Errorf("the callback page does not say the code lives 90 s:\n%s", body)
	}
}
