package testenv

import "syscall"

// sysProcAttr makes the kernel kill a server if the test binary dies without running
// its cleanups (a panic in another goroutine, a timeout, SIGKILL), so no orphaned
// server keeps a port. Pdeathsig follows the thread that started the child, and the
// Go runtime only ends threads a goroutine locked, which the harness never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
