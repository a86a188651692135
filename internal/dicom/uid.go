package dicom

import (
	"crypto/rand"
	"math/big"
)

// NewUID returns a fresh UID under the 2.25 root (PS3.5 B.2, ISO/IEC
// 9834-8): "2.25." followed by the decimal value of a random (version 4)
// UUID. It needs no registered root and is at most 44 characters long.
func NewUID() string {
	var u [16]byte
	rand.Read(u[:])         // crypto/rand.Read never returns an error (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return "2.25." + new(big.Int).SetBytes(u[:]).String()
}
