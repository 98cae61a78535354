// Package winetest runs kr's Windows code under wine from Linux tests:
// cross-compiled test binaries and kr.exe, in a wine prefix it prepares
// once (with the ProcessPrng shim Go 1.22+ binaries need on wine 8).
package winetest

import (
	_ "embed"
)

// processPrngSource is a bcryptprimitives.dll exporting ProcessPrng, the
// call Go's runtime makes for random bytes since Go 1.22 and which wine 8
// lacks; it calls BCryptGenRandom, which wine has.
//
//go:embed shim/processprng.c
var processPrngSource []byte
