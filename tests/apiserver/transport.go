// SPDX-License-Identifier: Apache-2.0
//
// The webhook call over HTTPS, as util/webhook/client.go and client-go's rest
// client make it: POST with kube-apiserver's headers and ?timeout=, and
// client-go's messages for non-2xx answers.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

type rawResponse struct {
	status      int
	contentType string
	proto       string
	body        []byte
}

// post sends the review like client-go's rest client does for the webhook:
// POST, Content-Type application/json, Accept "application/json, */*",
// User-Agent kube-apiserver-admission, ?timeout=<webhook timeout>.
func (s *sim) post(body []byte) (*rawResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.c.timeout)
	defer cancel()
	u := *s.endpoint
	// dispatcher.go: the remaining time of the context, rounded up to whole seconds.
	timeout := time.Until(mustDeadline(ctx))
	if t := timeout.Truncate(time.Second); t != timeout {
		timeout = t + time.Second
	}
	u.RawQuery = url.Values{"timeout": {timeout.String()}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, */*")
	req.Header.Set("User-Agent", userAgent)
	if s.c.serverName != "" {
		// service-based clientConfig: the URL host is <svc>.<ns>.svc:<port>.
		req.Host = net.JoinHostPort(s.c.serverName, strconv.Itoa(s.c.servicePort))
	}
	vlog("POST %s (Host %s, %d bytes)", u.String(), hostOf(req), len(body))
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	vlog("%s %d, Content-Type %q, %d bytes", resp.Proto, resp.StatusCode, resp.Header.Get("Content-Type"), len(data))
	return &rawResponse{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Proto, data}, nil
}

func hostOf(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

func mustDeadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// genericServerError mirrors client-go's handling of a non-2xx answer
// (Result.Error / errors.NewGenericServerResponse, no resource).
func genericServerError(r *rawResponse) error {
	if st, err := decodeStatusBody(r.body); err == nil && st != nil && st.status == "Failure" {
		return errors.New(st.message)
	}
	msg := "unknown"
	if mt, _, err := mime.ParseMediaType(r.contentType); err == nil && strings.HasPrefix(mt, "text/") {
		b := r.body
		if len(b) > 1024 {
			b = b[:1024]
		}
		msg = strings.TrimSpace(string(b))
	}
	switch r.status {
	case 409:
		return errors.New("the server reported a conflict")
	case 404:
		return errors.New("the server could not find the requested resource")
	case 400:
		return errors.New("the server rejected our request for an unknown reason")
	case 401:
		return errors.New("the server has asked for the client to provide credentials")
	case 403, 415:
		return errors.New(msg)
	case 406:
		if msg == "unknown" {
			return errors.New("the server was unable to respond with a content type that the client supports")
		}
		return errors.New(msg)
	case 405:
		return errors.New("the server does not allow this method on the requested resource")
	case 422:
		return errors.New("the server rejected our request due to an error in our request")
	case 503:
		return errors.New("the server is currently unable to handle the request")
	case 504:
		return errors.New("the server was unable to return a response in the time allotted, but may still be processing the request")
	case 429:
		return errors.New("the server has received too many requests and has asked us to try again later")
	}
	if r.status >= 500 {
		return fmt.Errorf("an error on the server (%q) has prevented the request from succeeding", msg)
	}
	return fmt.Errorf("the server responded with the status code %d but did not return more information", r.status)
}

// setupClient builds the HTTP client like util/webhook/client.go does with
// client-go's rest config: TLS >= 1.2, CA bundle as the only roots when given,
// ALPN pinned to http/1.1, QPS unlimited, 30s client timeout.
func (s *sim) setupClient() int {
	c := s.c
	if c.url == "" {
		return usageErr("--url is required")
	}
	// util/webhook/validation.go ValidateWebhookURL (forceHttps).
	u, err := url.Parse(c.url)
	if err != nil {
		return usageErr("--url must be a valid URL: %v; desired format: https://host[/path]", err)
	}
	switch {
	case u.Scheme != "https":
		return usageErr("--url: 'https' is the only allowed URL scheme; desired format: https://host[/path]")
	case u.Host == "":
		return usageErr("--url: host must be provided; desired format: https://host[/path]")
	case u.User != nil:
		return usageErr("--url: user information is not permitted in the URL")
	case u.Fragment != "":
		return usageErr("--url: fragments are not permitted in the URL")
	case u.RawQuery != "":
		return usageErr("--url: query parameters are not permitted in the URL")
	}
	// rest client: Host = scheme://host, APIPath = path; request path is
	// path.Join("/", APIPath), so a trailing slash is dropped.
	s.endpoint = &url.URL{Scheme: "https", Host: u.Host, Path: path.Join("/", u.Path)}

	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.serverName}
	pem, what := c.caPEM, "caBundle of --webhook-config"
	if c.ca != "" {
		var err error
		if pem, err = os.ReadFile(c.ca); err != nil {
			return usageErr("--ca: %v", err)
		}
		what = "--ca " + c.ca
	}
	if len(pem) > 0 {
		// client.go: a caBundle replaces the system roots entirely.
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return usageErr("%s: unable to load root certificates: unable to parse bytes as PEM block", what)
		}
		tlsCfg.RootCAs = pool
	}
	if c.cert != "" {
		kp, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			return usageErr("--cert/--key: %v", err)
		}
		tlsCfg.Certificates = []tls.Certificate{kp}
	}
	if !c.http2 {
		// client.go: cfg.NextProtos = []string{"http/1.1"} (kubernetes issue 75791).
		tlsCfg.NextProtos = []string{"http/1.1"}
	}
	tr := &http.Transport{
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 25,
		ForceAttemptHTTP2:   c.http2,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	s.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return exitOK
}
