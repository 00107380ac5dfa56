// Command pause is the pod sandbox's process: it holds the pod's namespaces
// and waits to be told to stop. The local cluster has no registry to pull
// the usual pause image from, so it builds this one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	// As PID 1 of the sandbox it also inherits orphans; reaping them keeps
	// zombies from piling up.
	signal.Ignore(syscall.SIGCHLD)
	<-stop
}
