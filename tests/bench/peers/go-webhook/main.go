// go-webhook: a typical Go mutating admission webhook (stdlib only), used as
// the "typical peer" baseline for hookwarden benchmarks.
//
// It decodes the AdmissionReview into map[string]interface{} (as many simple
// webhooks do), builds the same JSONPatch as peers/mhd-fixed/mhd-fixed.c -H json (label +
// securityContext for each container lacking one) and answers an
// AdmissionReview v1 response with the patch base64-encoded by encoding/json
// ([]byte fields marshal as base64, exactly like k8s.io/api's Patch field).
//
//	go build -o go-webhook . && ./go-webhook -addr 127.0.0.1:8443 -cert c.crt -key c.key
//
// tests/bench/bench.sh builds it with Debian's Go (golang-go) in GOPATH mode,
// offline: it imports the standard library only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

type patchOp struct {
	Op    string      `json:"op"`
	Path  string      `json:"path"`
	Value interface{} `json:"value,omitempty"`
}

type admissionResponse struct {
	UID       string `json:"uid"`
	Allowed   bool   `json:"allowed"`
	PatchType string `json:"patchType,omitempty"`
	Patch     []byte `json:"patch,omitempty"`
}

type admissionReviewOut struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Response   *admissionResponse `json:"response"`
}

func obj(m interface{}, key string) map[string]interface{} {
	if mm, ok := m.(map[string]interface{}); ok {
		if v, ok := mm[key].(map[string]interface{}); ok {
			return v
		}
	}
	return nil
}

func mutate(review map[string]interface{}) (*admissionReviewOut, error) {
	req := obj(review, "request")
	if req == nil {
		return nil, fmt.Errorf("no request")
	}
	uid, _ := req["uid"].(string)
	o := obj(req, "object")
	if uid == "" || o == nil {
		return nil, fmt.Errorf("no uid/object")
	}
	var patch []patchOp
	if obj(obj(o, "metadata"), "labels") != nil {
		patch = append(patch, patchOp{"add", "/metadata/labels/hookwarden.io~1mutated", "true"})
	} else {
		patch = append(patch, patchOp{"add", "/metadata/labels", map[string]string{"hookwarden.io/mutated": "true"}})
	}
	pod := obj(obj(obj(o, "spec"), "template"), "spec")
	if ctrs, ok := pod["containers"].([]interface{}); ok {
		for i, c := range ctrs {
			cm, _ := c.(map[string]interface{})
			if _, has := cm["securityContext"]; has {
				continue
			}
			patch = append(patch, patchOp{"add", fmt.Sprintf("/spec/template/spec/containers/%d/securityContext", i),
				map[string]bool{"allowPrivilegeEscalation": false, "runAsNonRoot": true}})
		}
	}
	pj, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	return &admissionReviewOut{"admission.k8s.io/v1", "AdmissionReview",
		&admissionResponse{UID: uid, Allowed: true, PatchType: "JSONPatch", Patch: pj}}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	cert := flag.String("cert", "certs/server.crt", "TLS certificate (empty with -plain)")
	key := flag.String("key", "certs/server.key", "TLS key")
	plain := flag.Bool("plain", false, "serve plain HTTP")
	fixed := flag.String("fixed", "", "if set: read the body, then answer this file's bytes (no JSON work)")
	flag.Parse()

	var fixedBody []byte
	if *fixed != "" {
		var err error
		if fixedBody, err = os.ReadFile(*fixed); err != nil {
			log.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if fixedBody != nil {
			w.Write(fixedBody)
			return
		}
		var review map[string]interface{}
		if err := json.Unmarshal(body, &review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := mutate(review)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, _ := json.Marshal(out)
		w.Write(resp)
	})
	srv := &http.Server{Addr: *addr, Handler: mux}
	go func() {
		var err error
		if *plain {
			err = srv.ListenAndServe()
		} else {
			err = srv.ListenAndServeTLS(*cert, *key)
		}
		if err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.Close()
}
