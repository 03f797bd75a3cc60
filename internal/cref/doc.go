// Package cref builds the C reference programs that socklab's tests set
// beside each Go mirror: udp/testdata/*.c and tcp/testdata/*.c, one per
// program stem (udp/testdata/echo_server.c beside udp/echo_server.go).
//
// The references are compiled by the tests, never committed as binaries,
// with the flags every reference must pass:
//
//	cc -std=gnu11 -Wall -Wextra -Werror -O2 -o OUT SRC [extra flags]
//
// Extra flags follow the source so that libraries link (-pthread for the
// thread twins, -lrt). A Builder compiles each source once per test binary,
// in the manner of buildTestProg in Go's src/runtime/crash_test.go:
//
//	var refs *cref.Builder // set in TestMain: cref.New(dir)
//
//	func TestEcho(t *testing.T) {
//		if err := cref.Available(); err != nil {
//			testenv.Missing(t, "cc", err)
//		}
//		bin, err := refs.Build("testdata/echo_server.c")
//		...
//	}
//
// The package needs a C compiler named cc on PATH (Debian: apt-get install
// gcc). The tests use it, and so do `socklab compare` and `socklab lab`,
// which build the C twins at run time when cc is there and say so when it
// is not. Linux only.
package cref
