console.log("hello from the seed");
