// Package lab runs socklab's experiments: the programs of the tutorial
// side by side on ephemeral loopback ports, with what they say and the
// system calls they make. `socklab lab` is its front end.
//
// The first experiment is the UDP echo pair of sections 3 to 5: the raw
// and net servers, each asked by the raw and net clients, and each
// client's network system calls as strace shows them. Linux only; strace
// is used when it is installed.
package lab
