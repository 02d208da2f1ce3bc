// Command contentplatform is the OAuth 2 module of a content-services
// platform (seed document 001) built with oauthkit: /authorize,
// /oauth/token and /secure; the authorization code, implicit, password,
// refresh_token, client_credentials and external_token grants; parameters
// in the query string of a POST, as the document's curl requests send them.
//
//	go run ./examples/contentplatform    # listens on localhost:9191, the document's port
//
// It prints its URLs, the demo client and user, and the document's
// requests ready to paste. See README.md.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "localhost:9191", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The issuer names the host as -addr does (localhost for an
	// unspecified one) and the port listened on.
	host, _, _ := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	issuer := "http://" + net.JoinHostPort(host, port)
	h, err := newApp(issuer, slog.Default())
	if err != nil {
		log.Fatal(err)
	}
	banner(os.Stdout, issuer)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// banner prints the server's URLs, its client and users, and the
// document's requests as they work here.
func banner(w io.Writer, issuer string) {
	cb := url.QueryEscape(redirectURI)
	fmt.Fprintf(w, `content platform OAuth module at %[1]s
  authorization endpoint  %[1]s%[2]s   (GET, or POST with the query)
  token endpoint          %[1]s%[3]s (POST; parameters in the body or the query)
  protected resource      %[1]s%[4]s
client %[5]s, secret %[6]q (HTTP Basic), redirect URI %[7]s, scopes read write
user admin, password tiger (at /authorize by HTTP Basic, and the password grant)
user admin, password admin at the upstream server (the external_token grant)

# authorization code: copy code= from the Location header into the second request
curl -i -XPOST -u admin:tiger '%[1]s%[2]s?response_type=code&client_id=%[5]s&state=xyz&redirect_uri=%[8]s'
curl -XPOST -u %[5]s:%[6]s '%[1]s%[3]s?grant_type=authorization_code&code=CODE&redirect_uri=%[8]s'
# implicit: the access token is in the Location header's fragment
curl -i -XPOST -u admin:tiger '%[1]s%[2]s?response_type=token&client_id=%[5]s&state=xyz&redirect_uri=%[8]s'
# resource owner password credentials
curl -XPOST -u %[5]s:%[6]s '%[1]s%[3]s?username=admin&password=tiger&grant_type=password'
# refresh
curl -XPOST -u %[5]s:%[6]s '%[1]s%[3]s?grant_type=refresh_token&refresh_token=REFRESH_TOKEN'
# client credentials
curl -XPOST -u %[5]s:%[6]s '%[1]s%[3]s?grant_type=client_credentials'
# external_token, with two random values of this run standing for the upstream server's tokens
curl -XPOST -u %[5]s:%[6]s '%[1]s%[3]s?username=admin&password=admin&access_token=%[9]s&refresh_token=%[10]s&grant_type=external_token'
# the protected resource
curl -i -H "Authorization: Bearer ACCESS_TOKEN" %[1]s%[4]s
`, issuer, pathAuthorize, pathToken, pathSecure, clientID, clientSecret, redirectURI, cb, rand.Text()+rand.Text(), rand.Text()+rand.Text())
}
