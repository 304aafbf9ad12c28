from hotfolder.cli import main

raise SystemExit(main())
