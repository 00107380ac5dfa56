"""The Textual dashboard. It never calls Kubernetes itself: it asks the
backend from worker threads and renders the plain data it gets back."""
