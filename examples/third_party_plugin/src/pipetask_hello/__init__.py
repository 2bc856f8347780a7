"""An example third-party pipetask plugin (kept empty: ``pipetask list`` imports the
package when it loads ``pipetask_hello.plugin``, so nothing heavy belongs here)."""
