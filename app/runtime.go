package app

// Runtime is the part of the Wails runtime the app uses. The desktop build implements it over
// github.com/wailsapp/wails/v2/pkg/runtime with the context Wails gave OnStartup (calling that
// package with any other context ends the process); tests use a recording implementation, so no
// test ever reaches the real runtime.
type Runtime interface {
	// EventsEmit sends an event to the window's EventsOn listeners.
	EventsEmit(event string, data ...any)
	WindowShow()
	WindowHide()
	WindowUnminimise()
	WindowIsMaximised() bool
	WindowGetSize() (width, height int)
	WindowGetPosition() (x, y int)
	WindowSetPosition(x, y int)
	// WindowExecJS runs JavaScript in the window (the self-test).
	WindowExecJS(js string)
	ClipboardSetText(text string) error
	BrowserOpenURL(url string)
	// InfoDialog shows a message with an OK button and returns when it is closed.
	InfoDialog(title, message string) error
	// Quit closes the window and ends the application (OnBeforeClose is asked first).
	Quit()
}
