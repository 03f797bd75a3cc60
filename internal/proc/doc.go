// Package proc is socklab's one home for the processes its tools and tests
// start and watch: starting a server and reading the port of its
// "Listening on port N" line, stopping it by signal within a bound, and
// what /proc tells about a process — its children, its state, and the
// system call each of its threads is blocked in.
//
// Everything here reads /proc as text or uses os/exec; it makes no system
// call of its own, so it stays outside sys/ (DESIGN.md).
package proc
