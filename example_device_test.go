package oauthkit_test

import (
	"encoding/json"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// The device authorization grant (RFC 8628): the library serves the device
// authorization endpoint and the device_code grant; the host serves the
// verification page, where a signed-in user types the code shown on the
// device, sees what it asks for, and approves or denies.
func ExampleServer_DeviceRequest() {
	store := memory.NewStore(&oauthkit.Client{
		ID:         "tv", // a public client: the device keeps no secret
		GrantTypes: []string{oauthkit.GrantTypeDeviceCode, oauthkit.GrantTypeRefreshToken},
		Scopes:     []string{"read"},
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  "https://auth.example.com",
		Clients: store, Codes: store, Tokens: store,
		Device: &oauthkit.DeviceConfig{Store: store, VerificationURI: "https://auth.example.com/device"},
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /device_authorization", srv.DeviceAuthorizationHandler())
	mux.Handle("POST /token", srv.TokenHandler())
	// The verification page; verification_uri_complete fills in user_code.
	page := template.Must(template.New("").Parse(
		`{{.Client.ID}} asks for {{.Scope}}: <form method="post"><input type="hidden" name="user_code" value="{{.UserCode}}">…`))
	mux.HandleFunc("/device", func(w http.ResponseWriter, r *http.Request) {
		user := "alice" // the host's signed-in user; a real page logs in first and checks CSRF
		// Every lookup counts against a limit per key: here the address.
		req, err := srv.DeviceRequest(r.Context(), r.FormValue("user_code"), r.RemoteAddr)
		switch {
		case err != nil:
			http.Error(w, "That code is not valid: check it, or start again on the device.", http.StatusBadRequest)
		case r.Method == http.MethodGet:
			page.Execute(w, req)
		case r.FormValue("approve") == "yes":
			err = srv.ApproveDevice(r.Context(), req, oauthkit.DeviceApproval{Subject: user, AuthTime: time.Now()})
		default:
			err = srv.DenyDevice(r.Context(), req)
		}
		if err != nil {
			log.Print(err)
		}
	})

	// The device asks, and shows the user_code and verification_uri.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, form("/device_authorization", "client_id=tv&scope=read"))
	var da struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURIComplete string `json:"verification_uri_complete"`
	}
	json.Unmarshal(rec.Body.Bytes(), &da)

	// The user opens verification_uri_complete, and approves.
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, da.VerificationURIComplete, nil))
	fmt.Println(strings.Split(rec.Body.String(), ":")[0])
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, form("/device", "user_code="+da.UserCode+"&approve=yes"))

	// The device, polling every interval seconds, gets its tokens.
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, form("/token", "client_id=tv&grant_type="+oauthkit.GrantTypeDeviceCode+"&device_code="+da.DeviceCode))
	fmt.Println(rec.Code, strings.Contains(rec.Body.String(), `"refresh_token"`))
	// Output:
	// tv asks for [read]
	// 200 true
}

// form is a POST with a form body.
func form(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
