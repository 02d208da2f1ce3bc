// Command hosted is a hosted authorization server for an API product, as
// seed document 000 describes one: GET /oauth2/authorize (authorization
// code, and implicit for the client permitted it), POST /oauth2/token
// (client secrets in HTTP Basic, refresh tokens that are not rotated), RS256
// JWT access tokens with token_use and username claims, and an API that
// accepts them.
//
//	go run ./examples/hosted -addr 127.0.0.1:9200
//
// It prints the demo clients and user, and the document's requests ready
// to paste. See README.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/oauthkit/oauthkit"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9200", "`host:port` to listen on")
	issuer := flag.String("issuer", "", `issuer identifier (default "http://" + the address)`)
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *issuer == "" {
		*issuer = "http://" + ln.Addr().String()
	}
	webSecret, webHash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		log.Fatal(err)
	}
	reportsSecret, reportsHash, err := oauthkit.GenerateSecret(nil)
	if err != nil {
		log.Fatal(err)
	}
	h, err := newApp(config{Issuer: *issuer, Clients: demoClients(webHash, reportsHash)})
	if err != nil {
		log.Fatal(err)
	}
	banner(os.Stdout, *issuer, webSecret, reportsSecret)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// banner prints the URLs, the demo clients and user, and the document's
// requests.
func banner(w io.Writer, issuer, webSecret, reportsSecret string) {
	authorize := func(clientID, responseType, redirectURI string) string {
		return fmt.Sprintf("%s%s?response_type=%s&client_id=%s&redirect_uri=%s&state=STATE",
			issuer, pathAuthorize, responseType, clientID, url.QueryEscape(redirectURI))
	}
	fmt.Fprintf(w, `hosted authorization server at %[1]s
  authorize  GET  %[1]s%[2]s
  token      POST %[1]s%[3]s
  revoke     POST %[1]s%[4]s
  keys       GET  %[1]s%[5]s
  API        GET  %[1]s%[6]s (scope %[7]s)
user:    alice, password wonderland
clients: web      secret %[8]s  code + refresh, redirect URI %[9]s
         reports  secret %[10]s  code only,      redirect URI %[9]s
         spa      public, implicit only, redirect URI %[11]s

Step 1, in a browser (sign in as alice; the code is in the address bar):
  %[12]s
Step 3, the code for tokens:
  curl -i -u web:%[8]s -d grant_type=authorization_code -d client_id=web -d code=AUTHORIZATION_CODE --data-urlencode redirect_uri=%[9]s %[1]s%[3]s
Refresh (no new refresh token: rotation is off):
  curl -i -u web:%[8]s -d grant_type=refresh_token -d client_id=web -d refresh_token=REFRESH_TOKEN %[1]s%[3]s
The API:
  curl -i -H "Authorization: Bearer ACCESS_TOKEN" %[1]s%[6]s
Implicit, in a browser (the token is in the address bar's fragment):
  %[13]s
Errors redirected to the client (no response_type; code_challenge without S256; a client not
permitted the flow; an unknown scope):
  curl -i '%[14]s'
  curl -i '%[16]s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
  curl -i '%[15]s'
  curl -i '%[16]s&scope=api/admin'
`, issuer, pathAuthorize, pathToken, pathRevoke, pathJWKS, pathAPI, scopePets,
		webSecret, webRedirectURI, reportsSecret, spaRedirectURI,
		authorize("web", "code", webRedirectURI), authorize("spa", "token", spaRedirectURI),
		issuer+pathAuthorize+"?client_id=web&redirect_uri="+url.QueryEscape(webRedirectURI)+"&state=STATE",
		authorize("reports", "token", webRedirectURI), authorize("web", "code", webRedirectURI))
}
