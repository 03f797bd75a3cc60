package sys

import (
	"testing"
	"unsafe"
)

// The structs handed to the kernel must have the kernel's sizes.
func TestStructSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"sockaddr_in", unsafe.Sizeof(SockaddrIn{}), 16},
		{"sockaddr_ll", unsafe.Sizeof(SockaddrLL{}), 20},
		{"mmsghdr", unsafe.Sizeof(Mmsghdr{}), 64},
	} {
		if c.got != c.want {
			t.Errorf("sizeof(struct %s) = %d, want %d", c.name, c.got, c.want)
		}
	}
}
