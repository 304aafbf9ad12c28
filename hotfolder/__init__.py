"""hotfolder: a shared folder that renders karaoke projects to videos."""

__version__ = "0.1.0"
