package app

// RequestQuit asks whoever runs the app (metastation serve) to shut it down
// as a signal would; the UI's Quit control calls it. It returns at once and
// may be called more than once.
func (a *App) RequestQuit() { a.quitOnce.Do(func() { close(a.quit) }) }

// QuitRequested is closed once RequestQuit has been called.
func (a *App) QuitRequested() <-chan struct{} { return a.quit }
