from bots.runner.loop import main

main()
