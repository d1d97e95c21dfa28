package cluster

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// MinSecretLen is the shortest cluster secret accepted.
const MinSecretLen = 16

// keys are what a cluster secret gives a node: the TLS identity every
// member shares and the key that signs commands. Both are derived with
// HKDF, so the secret itself never travels.
type keys struct {
	tls     tls.Certificate
	pub     ed25519.PublicKey
	command []byte
}

// deriveKeys derives the cluster's TLS key pair (ed25519, a self-signed
// certificate that every member presents and pins) and command key from
// secret. ed25519 signing is deterministic, so every node builds the same
// certificate from the same secret.
func deriveKeys(secret string) (*keys, error) {
	if len(secret) < MinSecretLen {
		return nil, errs.Errorf(errs.Invalid, "the cluster secret must be at least %d characters", MinSecretLen)
	}
	seed, err := hkdf.Key(sha256.New, []byte(secret), nil, "metastation cluster tls ed25519", ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("derive tls key: %w", err)
	}
	cmd, err := hkdf.Key(sha256.New, []byte(secret), nil, "metastation cluster command hmac", 32)
	if err != nil {
		return nil, fmt.Errorf("derive command key: %w", err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "metastation-cluster"},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, fmt.Errorf("create cluster certificate: %w", err)
	}
	return &keys{tls: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, pub: pub, command: cmd}, nil
}

// errPeerKey is the handshake failure of a peer holding another secret.
var errPeerKey = errors.New("the peer does not hold this cluster's secret")

// verifyPeer accepts only a peer presenting the cluster's own public key:
// the certificate pin replaces a CA.
func (k *keys) verifyPeer(raw [][]byte, _ [][]*x509.Certificate) error {
	if len(raw) == 0 {
		return errPeerKey
	}
	c, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return fmt.Errorf("parse peer certificate: %w", err)
	}
	pub, ok := c.PublicKey.(ed25519.PublicKey)
	if !ok || !bytes.Equal(pub, k.pub) {
		return errPeerKey
	}
	return nil
}

// serverTLS is the listener's TLS: TLS 1.3, a client certificate required
// and pinned.
func (k *keys) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{k.tls},
		ClientAuth:            tls.RequireAnyClientCert,
		VerifyPeerCertificate: k.verifyPeer,
	}
}

// clientTLS is the dialer's TLS. InsecureSkipVerify only turns off the
// CA and host-name checks; VerifyPeerCertificate pins the cluster key.
func (k *keys) clientTLS() *tls.Config {
	return &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{k.tls},
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: k.verifyPeer,
	}
}
