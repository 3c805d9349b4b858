from rdeploy_tui.cli import main

raise SystemExit(main())
