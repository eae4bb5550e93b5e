package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
)

// hashHex is the lowercase hex digest of s under a digest algorithm name.
func hashHex(alg, s string) string {
	if alg == "SHA-256" {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
