print("episodic")
