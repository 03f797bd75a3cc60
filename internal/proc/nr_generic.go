//go:build !amd64 && !arm64

package proc

// legacySyscalls is empty on the other architectures: InSyscall knows
// only the calls every Linux architecture has.
var legacySyscalls = map[string]int{}
