package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNEONEncodings checks the WORD encodings against those of an
// independent assembler (llvm-mc -triple=aarch64 -show-encoding, read as
// little-endian words).
func TestNEONEncodings(t *testing.T) {
	cases := []struct{ got, want string }{
		{fmlaElem(0, 1, 2, 3), "0x4fa21820"},
		{fmlaElem(23, 28, 25, 2), "0x4f991b97"},
		{fmlaElem(0, 27, 24, 0), "0x4f981360"},
		{fmlaElem(5, 28, 26, 1), "0x4fba1385"},
		{vec3("fmul", 0, 1, 2), "0x6e22dc20"},
		{vec3("fmul", 23, 23, 29), "0x6e3ddef7"},
		{vec3("fadd", 0, 1, 2), "0x4e22d420"},
		{vec3("fadd", 22, 22, 31), "0x4e3fd6d6"},
		{vec3("fsub", 6, 0, 5), "0x4ea5d406"},
		{vec3("fmax", 1, 1, 2), "0x4e22f421"},
		{vec3("fcmge", 6, 0, 16), "0x6e30e406"},
		{vec3("fcmgt", 3, 1, 2), "0x6ea2e423"},
		{vec3("fcmeq", 4, 3, 26), "0x4e3ae464"},
		{vec3("bic", 5, 3, 4), "0x4e641c65"},
		{fcvtl(1, 0, false), "0x0e217801"},
		{vec2("frintn", 7, 7), "0x4e2188e7"},
		{fcvtlD(20, 16, false), "0x0e617a14"},
		{fcvtlD(21, 16, true), "0x4e617a15"},
		{vec3("fadd.2d", 0, 0, 20), "0x4e74d400"},
		{vec3("fsub.2d", 20, 20, 30), "0x4efed694"},
		{vec3("fmul.2d", 20, 20, 20), "0x6e74de94"},
		{vec2("fcvtzs", 7, 7), "0x4ea1b8e7"},
		{vec2("fabs", 1, 0), "0x4ea0f801"},
		{vec2("cmlt", 11, 0), "0x4ea0a80b"},
		{vec3("fmin", 5, 5, 26), "0x4ebaf4a5"},
		{vec3("fdiv", 4, 4, 11), "0x6e2bfc84"},
		{fcvtl(2, 0, true), "0x4e217802"},
	}
	for _, c := range cases {
		if !strings.HasPrefix(c.got, "WORD $"+c.want+" ") {
			t.Errorf("%s: want %s", c.got, c.want)
		}
	}
}

// TestGeneratedFiles checks that the committed assembly is what asmgen
// writes now.
func TestGeneratedFiles(t *testing.T) {
	for name, text := range files() {
		b, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != text {
			t.Errorf("%s is not what asmgen writes: run go generate in internal/kernels", name)
		}
	}
}
