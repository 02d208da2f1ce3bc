// Command mcp is an authorization server for a Model Context Protocol
// server, and a tiny MCP server it protects, in one process: an MCP client
// that knows only the MCP server's URL discovers the authorization server
// (RFC 9728, RFC 8414), registers itself (RFC 7591, or a client ID
// metadata document), authorizes with PKCE and a resource indicator
// (RFC 8707), and calls the whoami tool.
//
//	go run ./examples/mcp -addr 127.0.0.1:9100
//
// See README.md.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9100", "address to listen on")
	issuer := flag.String("issuer", "", `issuer identifier (default "http://" + the address)`)
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *issuer == "" {
		*issuer = "http://" + ln.Addr().String()
	}
	h, err := newApp(config{Issuer: *issuer})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("authorization server: %s\nMCP server:           %s%s\n", *issuer, *issuer, pathMCP)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
