// Command apiserver runs a real kube-apiserver with an embedded etcd in one process,
// for volume-guard's end-to-end tests. It needs no container engine and no
// downloads at run time: everything is compiled in from Go modules.
//
// Usage:
//
//	apiserver --state-dir DIR [--port N] [--etcd-port N] [-- extra kube-apiserver flags]
//
// Everything it needs (CA, serving cert for 127.0.0.1, service-account keys, a
// token file with an admin and a non-admin identity, kubeconfigs) is generated into
// DIR on first start and reused afterwards, together with the etcd data
// (DIR/etcd) and the ports (DIR/ports.json). A restart with the same DIR therefore
// comes back on the same URL with the same objects.
//
// When /readyz answers 200 it prints one line to stdout:
//
//	READY https://127.0.0.1:PORT
//
// SIGTERM/SIGINT shut down the API server gracefully, then etcd, then exit 0.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // CronJob time zones, as in the upstream kube-apiserver main

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// disabledPlugins: without kube-controller-manager, admission plugins whose work a controller finishes would
// leave objects stuck (ServiceAccount needs the SA that the token controller creates; StorageObjectInUseProtection
// adds pvc/pv-protection finalizers that only a controller removes). With it, none is disabled.
func disabledPlugins(controllers bool) string {
	if controllers {
		return ""
	}
	return "ServiceAccount,StorageObjectInUseProtection"
}

type ports struct {
	API      int `json:"api"`
	Etcd     int `json:"etcd"`
	EtcdPeer int `json:"etcdPeer"`
}

func main() {
	os.Exit(run())
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "apiserver-embedded: "+format+"\n", a...)
}

func run() int {
	fs := flag.NewFlagSet("apiserver", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "directory for etcd data, keys, certs, tokens and kubeconfigs (required; reused when it exists)")
	port := fs.Int("port", 0, "secure port of the API server on 127.0.0.1 (0 = the one saved in the state dir, else a free one)")
	etcdPort := fs.Int("etcd-port", 0, "etcd client port on 127.0.0.1 (0 = the one saved in the state dir, else a free one)")
	etcdFsync := fs.Bool("etcd-fsync", false, "let etcd fsync (off by default: faster, and safe against process kills; only a machine crash can lose writes)")
	readyTimeout := fs.Duration("ready-timeout", 3*time.Minute, "give up when /readyz is not OK after this long")
	controllers := fs.Bool("controllers", false, "kube-controller-manager runs beside this server (whole test cluster): keep the ServiceAccount and StorageObjectInUseProtection admission plugins on")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: apiserver --state-dir DIR [--port N] [--etcd-port N] [--etcd-fsync] [--controllers] [-- extra kube-apiserver flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	extra := fs.Args() // after "--": passed to kube-apiserver verbatim (later flags win)
	if *stateDir == "" {
		logf("--state-dir is required")
		return 2
	}
	dir, err := filepath.Abs(*stateDir)
	if err != nil {
		logf("%v", err)
		return 1
	}
	if err := os.MkdirAll(filepath.Join(dir, "pki"), 0o700); err != nil {
		logf("%v", err)
		return 1
	}

	p, err := resolvePorts(dir, *port, *etcdPort)
	if err != nil {
		logf("ports: %v", err)
		return 1
	}
	creds, err := ensureCredentials(dir)
	if err != nil {
		logf("credentials: %v", err)
		return 1
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", p.API)
	if err := writeKubeconfigs(dir, server, creds); err != nil {
		logf("kubeconfig: %v", err)
		return 1
	}

	// Record signals ourselves too: kube-apiserver installs its own handler (first signal =
	// graceful shutdown, second = exit 1), and we need to know the stop was asked for.
	var stopping atomic.Bool
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		stopping.Store(true)
		logf("signal received, shutting down")
	}()

	etcd, err := startEtcd(dir, p, *etcdFsync)
	if err != nil {
		logf("etcd: %v", err)
		return 1
	}
	defer func() {
		etcd.Close()
		logf("etcd stopped")
	}()

	args := []string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", p.Etcd),
		"--advertise-address=127.0.0.1",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.API),
		"--cert-dir=" + filepath.Join(dir, "pki"),
		"--tls-cert-file=" + filepath.Join(dir, "pki", "serving.crt"),
		"--tls-private-key-file=" + filepath.Join(dir, "pki", "serving.key"),
		"--client-ca-file=" + filepath.Join(dir, "pki", "ca.crt"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(dir, "pki", "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(dir, "pki", "sa.key"),
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		// Off unless kube-controller-manager runs (see disabledPlugins).
		"--disable-admission-plugins=" + disabledPlugins(*controllers),
		// The "kubernetes" Service cannot point at a loopback address; skip the reconciler
		// rather than log an error every 10 s.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		// Stop within ~2 s even with watches open: otherwise net/http's Shutdown waits up to
		// --request-timeout (60 s) for long-running requests (informers) to end.
		"--shutdown-send-retry-after=true",
	}
	args = append(args, extra...)

	// Readiness: poll /readyz, print READY once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readyErr := make(chan error, 1)
	go func() { readyErr <- waitReady(ctx, server, creds, *readyTimeout) }()
	go func() {
		if err := <-readyErr; err != nil {
			if ctx.Err() == nil && !stopping.Load() {
				logf("not ready: %v", err)
				// Ask kube-apiserver to stop; main returns non-zero below.
				_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
			}
			return
		}
		fmt.Fprintf(os.Stdout, "READY %s\n", server)
		logf("READY %s (state %s)", server, dir)
	}()

	// Stop when etcd dies under us.
	go func() {
		select {
		case err := <-etcd.Err():
			if err != nil && !stopping.Load() {
				logf("etcd failed: %v", err)
				_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
			}
		case <-ctx.Done():
		}
	}()

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(args)
	code := cli.Run(cmd)
	cancel()
	if stopping.Load() {
		select {
		case err := <-readyErr:
			if err != nil {
				return 1 // we stopped it ourselves because it never got ready
			}
		default:
		}
		return 0
	}
	if code == 0 {
		code = 1 // kube-apiserver is not supposed to return without a signal
	}
	return code
}

// resolvePorts picks ports: explicit flag > saved in state dir > free port; then saves them.
func resolvePorts(dir string, api, etcd int) (ports, error) {
	var p ports
	file := filepath.Join(dir, "ports.json")
	if b, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(b, &p); err != nil {
			return p, fmt.Errorf("%s: %w", file, err)
		}
	}
	if api != 0 {
		p.API = api
	}
	if etcd != 0 {
		p.Etcd = etcd
	}
	used := map[int]bool{}
	for _, slot := range []*int{&p.API, &p.Etcd, &p.EtcdPeer} {
		for *slot == 0 || used[*slot] {
			free, err := freePort()
			if err != nil {
				return p, err
			}
			*slot = free
		}
		used[*slot] = true
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return p, writeFile(file, append(b, '\n'), 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startEtcd(dir string, p ports, fsync bool) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "volume-guard-test"
	cfg.Dir = filepath.Join(dir, "etcd")
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", p.Etcd))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", p.EtcdPeer))
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	// etcd's own main sets this default; embed.NewConfig leaves it 0, which logs every
	// request as "expensive".
	cfg.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration
	cfg.UnsafeNoFsync = !fsync
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = "1h"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		logf("etcd ready on %s (data %s)", cu, cfg.Dir)
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		e.Close()
		return nil, errors.New("etcd not ready after 60s")
	}
}

type credentials struct {
	caPEM      []byte
	adminToken string
	userToken  string
}

// ensureCredentials creates CA, serving cert, SA key pair and token file once.
func ensureCredentials(dir string) (credentials, error) {
	var c credentials
	pki := filepath.Join(dir, "pki")
	caCrt, caKey := filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key")
	if !exists(caCrt) || !exists(caKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return c, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: "volume-guard-test-ca"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().AddDate(10, 0, 0),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return c, err
		}
		if err := writeKey(caKey, key); err != nil {
			return c, err
		}
		if err := writeFile(caCrt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			return c, err
		}
		// A new CA invalidates any serving cert signed by an old one.
		_ = os.Remove(filepath.Join(pki, "serving.crt"))
	}
	caPEM, err := os.ReadFile(caCrt)
	if err != nil {
		return c, err
	}
	c.caPEM = caPEM
	srvCrt, srvKey := filepath.Join(pki, "serving.crt"), filepath.Join(pki, "serving.key")
	if !exists(srvCrt) || !exists(srvKey) {
		ca, caPriv, err := loadCA(caCrt, caKey)
		if err != nil {
			return c, err
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return c, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: "kube-apiserver"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().AddDate(10, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")},
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caPriv)
		if err != nil {
			return c, err
		}
		if err := writeKey(srvKey, key); err != nil {
			return c, err
		}
		if err := writeFile(srvCrt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			return c, err
		}
	}
	saKey, saPub := filepath.Join(pki, "sa.key"), filepath.Join(pki, "sa.pub")
	if !exists(saKey) || !exists(saPub) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return c, err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return c, err
		}
		if err := writeFile(saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
			return c, err
		}
		if err := writeFile(saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
			return c, err
		}
	}
	tokFile := filepath.Join(dir, "tokens.json")
	var toks struct{ Admin, User string }
	if b, err := os.ReadFile(tokFile); err == nil {
		_ = json.Unmarshal(b, &toks)
	}
	if toks.Admin == "" || toks.User == "" {
		toks.Admin, toks.User = randomToken(), randomToken()
		b, _ := json.Marshal(toks)
		if err := writeFile(tokFile, b, 0o600); err != nil {
			return c, err
		}
	}
	c.adminToken, c.userToken = toks.Admin, toks.User
	// Static token file: token,user,uid,"group1,group2"
	csv := fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n%s,alice,alice-uid,\"developers\"\n", c.adminToken, c.userToken)
	return c, writeFile(filepath.Join(dir, "tokens.csv"), []byte(csv), 0o600)
}

func loadCA(crtFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(crtFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	crt, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("CA key is not ECDSA")
	}
	return crt, key, nil
}

func writeKey(file string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writeFile(file, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func writeKubeconfigs(dir, server string, c credentials) error {
	ca := base64.StdEncoding.EncodeToString(c.caPEM)
	for _, kc := range []struct{ file, user, token string }{
		{"kubeconfig", "admin", c.adminToken},
		{"kubeconfig-user", "alice", c.userToken},
	} {
		text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: volume-guard-test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: %s@volume-guard-test
  context:
    cluster: volume-guard-test
    user: %s
    namespace: default
current-context: %s@volume-guard-test
`, server, ca, kc.user, kc.token, kc.user, kc.user, kc.user)
		if err := writeFile(filepath.Join(dir, kc.file), []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func waitReady(ctx context.Context, server string, c credentials, timeout time.Duration) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.adminToken)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("/readyz not OK after %s (last: %s)", timeout, last)
}

func writeFile(file string, data []byte, mode os.FileMode) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

func exists(file string) bool {
	_, err := os.Stat(file)
	return err == nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
